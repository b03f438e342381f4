namespace TrustLaunch.Cli.Tests.Commands.StreamProcessor;

/// <summary><c>trustlaunch stream-decrypt --snapshots DIR</c> refuses before it reads anything when DIR is on disk.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StreamDecryptCommandTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task StreamDecrypt_SnapshotsOnDisk_RefusedBeforeReadingTheLayer()
    {
        var snapshots = Directory.CreateDirectory(_scratch["snapshots"]).FullName;

        var result = await CliHarness.RunAsync("stream-decrypt", "--snapshots", snapshots, "--agent-socket", _scratch["no-agent.sock"]);

        var type = TrustLaunch.Measurement.Native.Libc.FileSystemType(snapshots);
        Assert.Equal((1, $"error: refusing to decrypt: containerd's snapshots at {snapshots} are not memory-backed (filesystem type 0x{type:x}, not tmpfs): decrypted layers would reach the disk\n"),
            (result.ExitCode, result.Stderr));
    }
}
