using TrustLaunch.Cli.Commands.Image;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Pull;

namespace TrustLaunch.Cli.Tests.Commands;

public sealed class PullProgressViewTests
{
    private static readonly Digest A = Digest.Sha256("a"u8);
    private static readonly Digest B = Digest.Sha256("b"u8);

    [Fact]
    public void Report_NotTerminal_OneLinePerCompletedBlob()
    {
        var writer = new StringWriter();
        var view = new PullProgressView(writer, terminal: false);

        view.Report(new PullProgress(A, "x", 0, 2_000_000));
        view.Report(new PullProgress(B, "x", 500, 500, AlreadyPresent: true));
        view.Report(new PullProgress(A, "x", 1_000_000, 2_000_000));
        view.Report(new PullProgress(A, "x", 2_000_000, 2_000_000));
        view.Report(new PullProgress(A, "x", 2_000_000, 2_000_000));
        view.Complete();

        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal($"sha256:{B.Hex[..12]}  already present (500 B)", lines[0]);
        Assert.Matches($@"^sha256:{A.Hex[..12]}  2\.0 MB in [0-9.]+ s \([0-9.]+ MB/s\)$", lines[1]);
    }

    [Fact]
    public void Report_Terminal_RedrawsOneLinePerBlobInPlace()
    {
        var writer = new StringWriter();
        var view = new PullProgressView(writer, terminal: true);

        view.Report(new PullProgress(A, "x", 0, 2_000_000));
        view.Report(new PullProgress(B, "x", 0, 1_000));
        view.Report(new PullProgress(B, "x", 1_000, 1_000));
        view.Complete();

        var text = writer.ToString();
        Assert.Contains("\u001b[2A", text); // moved up over both lines to redraw them
        var last = text[(text.LastIndexOf("\u001b[2A", StringComparison.Ordinal) + 4)..].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, last.Length);
        Assert.Matches($@"^\r\u001b\[2Ksha256:{A.Hex[..12]}  0 B / 2\.0 MB  [0-9.]+ MB/s$", last[0]);
        Assert.Matches($@"^\r\u001b\[2Ksha256:{B.Hex[..12]}  1\.0 kB in [0-9.]+ s", last[1]);
    }
}
