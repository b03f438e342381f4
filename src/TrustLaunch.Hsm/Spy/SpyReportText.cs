namespace TrustLaunch.Hsm.Spy;

/// <summary>The text form of <c>hsm analyze</c>.</summary>
public static class SpyReportText
{
    public static void Write(TextWriter w, SpyReport r)
    {
        w.WriteLine($"total calls: {r.TotalCalls}   processes: {r.Processes.Count}   errors: {r.Errors.Sum(e => e.Count)}");
        w.WriteLine($"sessions: {r.Sessions.Opened} opened, {r.Sessions.Closed} closed; logins: {r.Sessions.Logins} ok, {r.Sessions.FailedLogins} failed; logouts: {r.Sessions.Logouts}");
        w.WriteLine();
        w.WriteLine($"{"function",-26} {"count",8} {"ok",8} {"failed",7} {"p50 ms",7} {"p95 ms",7} {"p99 ms",7}");
        foreach (var f in r.Functions)
            w.WriteLine($"{f.Function,-26} {f.Count,8} {f.Ok,8} {f.Failed,7} {Ms(f.P50Ms),7} {Ms(f.P95Ms),7} {Ms(f.P99Ms),7}");
        w.WriteLine();
        w.WriteLine("returns:");
        foreach (var (code, count) in r.Returns)
            w.WriteLine($"  {code,-34} {count,8}");
        if (r.Errors.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("errors:");
            foreach (var e in r.Errors)
                w.WriteLine($"  {e.Function} {e.Rv} ×{e.Count} (first {e.FirstSeen})");
        }
        w.WriteLine();
        w.WriteLine("processes:");
        foreach (var p in r.Processes)
            w.WriteLine($"  #{p.Index}{(p.Pid is { } pid ? $" pid {pid}" : "")}: {p.Calls} calls, {p.Errors} errors, {p.FirstSeen ?? "?"} … {p.LastSeen ?? "?"}");
    }

    private static string Ms(double? value) => value is { } v ? v.ToString("0", System.Globalization.CultureInfo.InvariantCulture) : "-";
}
