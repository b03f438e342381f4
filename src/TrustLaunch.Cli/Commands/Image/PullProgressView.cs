using System.Diagnostics;
using System.Globalization;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Pull;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary>
/// Shows a pull's progress: on a terminal one line per blob, redrawn in place (short digest, bytes done/total, rate);
/// otherwise one plain line as each blob completes. Reports arrive from parallel downloads, so everything is locked.
/// </summary>
public sealed class PullProgressView(TextWriter writer, bool terminal) : IProgress<PullProgress>
{
    private static readonly long RedrawInterval = Stopwatch.Frequency / 10;

    private readonly Lock _gate = new();
    private readonly List<Row> _rows = [];
    private readonly Dictionary<Digest, Row> _byDigest = [];
    private int _drawnLines;
    private long _lastDraw;

    private sealed class Row(Digest digest, long started)
    {
        public Digest Digest { get; } = digest;
        public long Started { get; } = started;
        public long Ended { get; set; }
        public long Done { get; set; }
        public long Total { get; set; }
        public bool Finished { get; set; }
        public bool AlreadyPresent { get; set; }
    }

    /// <summary>True when <paramref name="writer"/> is the process's stdout and that is a terminal.</summary>
    public static bool IsTerminal(TextWriter writer) => ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;

    public void Report(PullProgress value)
    {
        lock (_gate)
        {
            var now = Stopwatch.GetTimestamp();
            if (!_byDigest.TryGetValue(value.Digest, out var row))
            {
                row = new Row(value.Digest, now);
                _byDigest.Add(value.Digest, row);
                _rows.Add(row);
            }
            if (row.Finished)
                return;
            row.Done = value.BytesDone;
            row.Total = value.BytesTotal;
            row.AlreadyPresent = value.AlreadyPresent;
            if (value.Completed)
            {
                row.Finished = true;
                row.Ended = now;
                if (!terminal)
                {
                    writer.WriteLine(Line(row));
                    writer.Flush();
                }
            }
            if (terminal && (row.Finished || now - _lastDraw >= RedrawInterval))
                Redraw(now);
        }
    }

    /// <summary>Draws the final state (terminal only).</summary>
    public void Complete()
    {
        lock (_gate)
        {
            if (terminal)
                Redraw(Stopwatch.GetTimestamp());
        }
    }

    private void Redraw(long now)
    {
        if (_drawnLines > 0)
            writer.Write($"\u001b[{_drawnLines}A");
        foreach (var row in _rows)
            writer.Write("\r\u001b[2K" + Line(row, now) + "\n");
        _drawnLines = _rows.Count;
        _lastDraw = now;
        writer.Flush();
    }

    private static string Line(Row row, long? now = null)
    {
        var name = $"{row.Digest.Algorithm}:{row.Digest.Hex[..12]}";
        if (row.AlreadyPresent)
            return $"{name}  already present ({Bytes(row.Total)})";
        var seconds = Math.Max((double)((row.Finished ? row.Ended : now ?? row.Ended) - row.Started) / Stopwatch.Frequency, 1e-6);
        var rate = row.Done / seconds / 1e6;
        return row.Finished
            ? string.Create(CultureInfo.InvariantCulture, $"{name}  {Bytes(row.Total)} in {seconds:0.00} s ({rate:0.0} MB/s)")
            : string.Create(CultureInfo.InvariantCulture, $"{name}  {Bytes(row.Done)} / {Bytes(row.Total)}  {rate:0.0} MB/s");
    }

    public static string Bytes(long n) => n switch
    {
        < 1000 => $"{n} B",
        < 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e3:0.0} kB"),
        < 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e6:0.0} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{n / 1e9:0.00} GB"),
    };
}
