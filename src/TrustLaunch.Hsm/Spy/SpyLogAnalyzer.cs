using System.Globalization;
using System.Text.Json;

namespace TrustLaunch.Hsm.Spy;

public sealed record SpyFunctionStats(string Function, long Count, long Ok, long Failed, double? P50Ms, double? P95Ms, double? P99Ms);

public sealed record SpyError(string Function, string Rv, long Count, string FirstSeen);

public sealed record SpyProcess(int Index, long? Pid, long Calls, long Errors, string? FirstSeen, string? LastSeen);

public sealed record SpySessions(long Opened, long Closed, long Logins, long FailedLogins, long Logouts);

/// <summary>What <c>hsm analyze</c> reports. Durations are the time from a call's entry to the next call's entry in
/// the same process and thread (the spy logs only entry times, to the millisecond), so they bound the call from above.</summary>
public sealed record SpyReport(
    long TotalCalls,
    IReadOnlyDictionary<string, long> Calls,
    IReadOnlyDictionary<string, long> Returns,
    IReadOnlyList<SpyError> Errors,
    IReadOnlyList<SpyProcess> Processes,
    IReadOnlyList<SpyFunctionStats> Functions,
    SpySessions Sessions);

/// <summary>Folds calls into a <see cref="SpyReport"/> in bounded memory: counters per function and code, and per
/// function a histogram of durations in whole milliseconds (the spy's resolution) from which percentiles are exact.</summary>
public sealed class SpyLogAnalyzer
{
    private readonly Dictionary<string, FunctionState> _functions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _returns = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), (long Count, string First)> _errors = [];
    private readonly Dictionary<(int, long?), ProcessState> _processes = [];
    private readonly Dictionary<(int, long?, string?), (string Function, DateTime At)> _lastCall = [];
    private long _total, _opened, _closed, _logins, _failedLogins, _logouts;

    public static SpyReport Analyze(TextReader reader)
    {
        var analyzer = new SpyLogAnalyzer();
        foreach (var call in SpyLogParser.Parse(reader))
            analyzer.Add(call);
        return analyzer.Build();
    }

    public void Add(SpyCall call)
    {
        _total++;
        if (!_functions.TryGetValue(call.Function, out var f))
            _functions[call.Function] = f = new FunctionState();
        f.Count++;
        var ok = call.RvName == "CKR_OK";
        if (ok) f.Ok++;
        else if (call.RvName is not null) f.Failed++;
        var rvName = call.RvName ?? "(no return)";
        _returns[rvName] = _returns.GetValueOrDefault(rvName) + 1;
        var when = call.Timestamp is { } t ? t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture) : null;
        var processKey = (call.Pid is null ? call.Process : 0, call.Pid);
        if (!_processes.TryGetValue(processKey, out var p))
            _processes[processKey] = p = new ProcessState(_processes.Count + 1, call.Pid);
        p.Calls++;
        p.First ??= when;
        p.Last = when ?? p.Last;
        if (!ok && call.RvName is not null)
        {
            p.Errors++;
            var key = (call.Function, call.RvName);
            _errors[key] = _errors.TryGetValue(key, out var e) ? (e.Count + 1, e.First) : (1, when ?? $"process {p.Index} call {call.Seq}");
        }
        switch (call.Function)
        {
            case "C_OpenSession" when ok: _opened++; break;
            case "C_CloseSession" when ok: _closed++; break;
            case "C_Login" when ok: _logins++; break;
            case "C_Login": _failedLogins++; break;
            case "C_Logout" when ok: _logouts++; break;
        }
        if (call.Timestamp is { } at)
        {
            var threadKey = (processKey.Item1, call.Pid, call.Thread);
            if (_lastCall.TryGetValue(threadKey, out var last))
            {
                var ms = (long)Math.Round((at - last.At).TotalMilliseconds);
                if (ms >= 0)
                {
                    var h = _functions[last.Function].Durations;
                    h[ms] = h.GetValueOrDefault(ms) + 1;
                }
            }
            _lastCall[threadKey] = (call.Function, at);
        }
    }

    public SpyReport Build() => new(
        _total,
        _functions.OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value.Count),
        _returns.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value),
        _errors.Select(kv => new SpyError(kv.Key.Item1, kv.Key.Item2, kv.Value.Count, kv.Value.First)).OrderByDescending(e => e.Count).ThenBy(e => e.Function, StringComparer.Ordinal).ToList(),
        _processes.Values.OrderBy(p => p.Index).Select(p => new SpyProcess(p.Index, p.Pid, p.Calls, p.Errors, p.First, p.Last)).ToList(),
        _functions.OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new SpyFunctionStats(kv.Key, kv.Value.Count, kv.Value.Ok, kv.Value.Failed,
                Percentile(kv.Value.Durations, 0.50), Percentile(kv.Value.Durations, 0.95), Percentile(kv.Value.Durations, 0.99))).ToList(),
        new SpySessions(_opened, _closed, _logins, _failedLogins, _logouts));

    /// <summary>Nearest-rank percentile over a histogram of whole milliseconds.</summary>
    private static double? Percentile(SortedDictionary<long, long> histogram, double q)
    {
        var n = histogram.Values.Sum();
        if (n == 0)
            return null;
        var rank = (long)Math.Ceiling(q * n);
        long seen = 0;
        foreach (var (ms, count) in histogram)
        {
            seen += count;
            if (seen >= rank)
                return ms;
        }
        return histogram.Keys.Last();
    }

    private sealed class FunctionState
    {
        public long Count, Ok, Failed;
        public SortedDictionary<long, long> Durations { get; } = [];
    }

    private sealed class ProcessState(int index, long? pid)
    {
        public int Index { get; } = index;
        public long? Pid { get; } = pid;
        public long Calls, Errors;
        public string? First, Last;
    }

    /// <summary>Writes one JSON object per call (JSON lines), PIN buffers redacted.</summary>
    public static long WriteEvents(TextReader reader, Stream output)
    {
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false, SkipValidation = true });
        long n = 0;
        var newline = "\n"u8.ToArray();
        foreach (var call in SpyLogParser.Parse(reader, keepLines: true))
        {
            writer.WriteStartObject();
            writer.WriteNumber("process", call.Process);
            if (call.Pid is { } pid) writer.WriteNumber("pid", pid);
            else writer.WriteNull("pid");
            if (call.Thread is { } tid) writer.WriteString("thread", tid);
            writer.WriteNumber("seq", call.Seq);
            writer.WriteString("function", call.Function);
            if (call.Timestamp is { } ts) writer.WriteString("timestamp", ts.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture));
            else writer.WriteNull("timestamp");
            if (call.Rv is { } rv) writer.WriteNumber("rv", rv);
            else writer.WriteNull("rv");
            writer.WriteString("rv_name", call.RvName);
            writer.WriteNumber("line", call.LineNumber);
            writer.WriteStartArray("params");
            foreach (var l in call.Lines)
                writer.WriteStringValue(l);
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.Flush();
            output.Write(newline);
            writer.Reset();
            n++;
        }
        output.Flush();
        return n;
    }
}
