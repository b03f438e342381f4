using System.Globalization;

namespace TrustLaunch.Hsm.Spy;

/// <summary>One PKCS#11 call as OpenSC's pkcs11-spy logged it.</summary>
/// <param name="Process">1-based index of the process in the file (each process starts with the spy banner; with
/// OpenSC 0.24+ the pid tells interleaved processes apart).</param>
/// <param name="Seq">The spy's own call number (restarts at 0 in each process).</param>
/// <param name="Lines">The call's parameter lines (<c>[in] …</c>, <c>[out] …</c>, dumps), PIN buffers already
/// redacted; empty unless the parser was asked to keep them.</param>
public sealed record SpyCall(
    int Process, long? Pid, string? Thread, long Seq, string Function, DateTime? Timestamp, long? Rv, string? RvName,
    long LineNumber, IReadOnlyList<string> Lines);

/// <summary>
/// Streams pkcs11-spy logs: OpenSC 0.23 (a timestamp line <c>YYYY-MM-DD HH:MM:SS.mmm</c> after <c>N: C_Name</c>)
/// and 0.24+ (<c>P:&lt;pid&gt;; T:0x&lt;tid&gt; YYYY-…</c>), several processes appended to one file. Reads one line
/// at a time: memory stays bounded whatever the size of the log.
/// </summary>
public static class SpyLogParser
{
    public const string Redacted = "REDACTED";
    private const string Banner = "*************** OpenSC PKCS#11 spy *****************";

    public static IEnumerable<SpyCall> Parse(TextReader reader, bool keepLines = false)
    {
        var process = 0;
        long lineNumber = 0;
        Pending? current = null;
        var redacting = false;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Length == 0)
                continue;
            if (line[0] == '*' && line.StartsWith(Banner, StringComparison.Ordinal))
            {
                if (current is not null)
                {
                    yield return current.ToCall();
                    current = null;
                }
                process++;
                continue;
            }
            if (TryParseHeader(line, out var seq, out var function))
            {
                if (current is not null)
                    yield return current.ToCall();
                current = new Pending(Math.Max(process, 1), seq, function, lineNumber, keepLines ? [] : null);
                redacting = false;
                continue;
            }
            if (current is null)
                continue;
            if (current.Timestamp is null && current.Rv is null && TryParseTimestampLine(line, out var ts, out var pid, out var tid))
            {
                current.Timestamp = ts;
                current.Pid = pid;
                current.Thread = tid;
                continue;
            }
            if (line.StartsWith("Returned:", StringComparison.Ordinal))
            {
                ParseReturned(line.AsSpan(9), out var rv, out var name);
                current.Rv = rv;
                current.RvName = name;
                yield return current.ToCall();
                current = null;
                continue;
            }
            if (current.Lines is not null)
            {
                if (line.StartsWith('['))
                {
                    redacting = IsPinParameter(line);
                    current.Lines.Add(redacting ? RedactParameter(line) : line);
                }
                else if (!(redacting && IsDumpLine(line)))
                {
                    redacting = false;
                    current.Lines.Add(line);
                }
            }
        }
        if (current is not null)
            yield return current.ToCall();
    }

    /// <summary><c>N: C_Name</c>.</summary>
    internal static bool TryParseHeader(string line, out long seq, out string function)
    {
        seq = 0;
        function = "";
        var colon = line.IndexOf(": C_", StringComparison.Ordinal);
        if (colon <= 0 || !char.IsAsciiDigit(line[0]))
            return false;
        if (!long.TryParse(line.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out seq))
            return false;
        var name = line.AsSpan(colon + 2).Trim();
        foreach (var c in name)
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
                return false;
        function = name.ToString();
        return true;
    }

    /// <summary><c>YYYY-MM-DD HH:MM:SS.mmm</c> (0.23) or <c>P:pid; T:0xtid YYYY-MM-DD HH:MM:SS.mmm</c> (0.24+).</summary>
    internal static bool TryParseTimestampLine(string line, out DateTime timestamp, out long? pid, out string? thread)
    {
        pid = null;
        thread = null;
        timestamp = default;
        var s = line.AsSpan();
        if (s.StartsWith("P:"))
        {
            var semi = s.IndexOf(';');
            if (semi < 0 || !long.TryParse(s[2..semi], NumberStyles.None, CultureInfo.InvariantCulture, out var p))
                return false;
            pid = p;
            s = s[(semi + 1)..].TrimStart();
            if (s.StartsWith("T:"))
            {
                var space = s.IndexOf(' ');
                if (space < 0)
                    return false;
                thread = s[2..space].ToString();
                s = s[(space + 1)..];
            }
        }
        s = s.Trim();
        return s.Length >= 19 && char.IsAsciiDigit(s[0]) && s[4] == '-' &&
            DateTime.TryParseExact(s, ["yyyy-MM-dd HH:mm:ss.fff", "yyyy-MM-dd HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out timestamp);
    }

    /// <summary><c>Returned:  160 CKR_PIN_INCORRECT</c> (decimal, then the name; older spies print hex).</summary>
    private static void ParseReturned(ReadOnlySpan<char> rest, out long? rv, out string? name)
    {
        rest = rest.Trim();
        var space = rest.IndexOf(' ');
        var number = space < 0 ? rest : rest[..space];
        name = space < 0 ? null : rest[(space + 1)..].Trim().ToString();
        rv = number.StartsWith("0x") && long.TryParse(number[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex) ? hex
            : long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var dec) ? dec
            : null;
        if (string.IsNullOrEmpty(name))
            name = rv is { } v ? $"0x{v:x}" : "unknown";
    }

    /// <summary><c>[in] pPin[ulPinLen] …</c>, <c>[in] pOldPin…</c>, <c>[in] pNewPin…</c>: the spy dumps these in clear.</summary>
    internal static bool IsPinParameter(string line)
    {
        var close = line.IndexOf("] ", StringComparison.Ordinal);
        if (close < 0)
            return false;
        var name = line.AsSpan(close + 2);
        var end = name.IndexOfAny('[', ' ');
        if (end >= 0)
            name = name[..end];
        return name.Length > 1 && name[0] == 'p' && name.EndsWith("Pin", StringComparison.OrdinalIgnoreCase);
    }

    private static string RedactParameter(string line)
    {
        // "[in] pPin[ulPinLen] 00007ffe03e2f87f / 4" → keep the name and length, drop the pointer; the dump lines
        // that follow (which hold the PIN) are skipped by the caller.
        var slash = line.LastIndexOf(" / ", StringComparison.Ordinal);
        var close = line.IndexOf("] ", StringComparison.Ordinal);
        var nameEnd = line.IndexOf(' ', close + 2);
        var head = nameEnd < 0 ? line : line[..nameEnd];
        return slash < 0 ? $"{head} {Redacted}" : $"{head} {Redacted}{line[slash..]}";
    }

    /// <summary>A hex-dump line: <c>    00000000  31 32 33 34 …</c>.</summary>
    internal static bool IsDumpLine(string line)
    {
        var s = line.AsSpan().TrimStart();
        return s.Length >= 10 && line.StartsWith(' ') && s[8] == ' ' && IsHex(s[..8]);

        static bool IsHex(ReadOnlySpan<char> t)
        {
            foreach (var c in t)
                if (!char.IsAsciiHexDigit(c))
                    return false;
            return true;
        }
    }

    private sealed class Pending(int process, long seq, string function, long lineNumber, List<string>? lines)
    {
        public DateTime? Timestamp;
        public long? Pid;
        public string? Thread;
        public long? Rv;
        public string? RvName;
        public List<string>? Lines { get; } = lines;

        public SpyCall ToCall() => new(process, Pid, Thread, seq, function, Timestamp, Rv, RvName, lineNumber, (IReadOnlyList<string>?)Lines ?? []);
    }
}
