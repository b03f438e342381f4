using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// <c>trustlaunch demo</c>, the README's main job, run as users run it: the native executable, with real swtpm,
/// SoftHSM, docker-registry, registrar, verifier, agent and crun, each a child process on loopback.
/// </summary>
[Trait("Category", "Slow")]
public sealed class DemoCommandTests : IDisposable
{
    private static readonly TimeSpan DemoTimeout = TimeSpan.FromMinutes(5);
    private readonly ScratchDirectory _scratch = new();

    /// <summary>Stops what a failed <c>--keep</c> test left running before the scratch directory goes.</summary>
    public void Dispose()
    {
        var kept = _scratch["demo"];
        if (File.Exists(System.IO.Path.Combine(kept, "processes")))
            TrustLaunchAsync("demo", "--clean", kept).GetAwaiter().GetResult();
        _scratch.Dispose();
    }

    private static async Task<ProcessResult> TrustLaunchAsync(params string[] arguments) =>
        await ProcessRunner.RunAsync(await PublishedCli.PathAsync(), arguments, timeout: DemoTimeout);

    /// <summary>Processes whose command line mentions <paramref name="directory"/> (every child the demo starts does).</summary>
    private static List<string> ProcessesUsing(string directory) =>
        Directory.GetDirectories("/proc").Where(d => int.TryParse(System.IO.Path.GetFileName(d), out _)).Select(d =>
        {
            try
            {
                return File.ReadAllText(System.IO.Path.Combine(d, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                return "";
            }
        }).Where(c => c.Contains(directory, StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task Demo_KeepThenClean_TellsTheWholeStoryLeavesItRunningThenStopsEverything()
    {
        var directory = _scratch["demo"];

        var demo = await TrustLaunchAsync("demo", "--dir", directory, "--keep");

        Assert.True(demo.ExitCode == 0, $"demo exited {demo.ExitCode}: {demo.StandardError}\n{demo.StandardOutput}");
        var lines = demo.StandardOutput.Split('\n');
        Assert.Contains("    │ Hello from a verified container", lines);
        Assert.Contains("    │ This image matches its golden value.", lines);
        Assert.Contains("  → verifier: Attested (TPM quote over PCR 13 and the node's event log verified)", lines);
        Assert.Contains(lines, l => l.StartsWith("  → measured into PCR 13: ImagePulled, ImageVerified, ContainerCreated, ContainerStarted, ContainerStopped, ContainerDeleted", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("    NOT verified: no golden value for 127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("    NOT verified: rootfs digest mismatch: golden value has sha256:", StringComparison.Ordinal));
        Assert.Equal(2, lines.Count(l => l.StartsWith("  → exit 3, nothing started; the refusal is measured too (ImageRejected, record ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("  → verifier: Failed: event 8 (ImageVerified): golden value NOT verified: manifest digest mismatch: golden value is for sha256:", StringComparison.Ordinal)
            && l.EndsWith(", image is sha256:" + new string('e', 64), StringComparison.Ordinal));
        Assert.Contains("demo passed: 1 verified launch attested; 2 launches refused (no golden value, tampered snapshot); 1 forged ImageVerified caught (node Failed)", lines);
        Assert.Equal("", demo.StandardError);

        // --keep: the services still answer, with the environment the demo wrote.
        Assert.Equal(5, File.ReadAllLines(System.IO.Path.Combine(directory, "processes")).Length);
        Assert.Equal(5, ProcessesUsing(directory).Count);
        var environment = File.ReadAllLines(System.IO.Path.Combine(directory, "env")).Select(l => l["export ".Length..].Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1].Trim('\''));
        var status = await ProcessRunner.RunAsync(await PublishedCli.PathAsync(), ["agent", "status", environment["TRUSTLAUNCH_AGENT_ID"]], environment);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("state:            Failed", status.StandardOutput);

        var clean = await TrustLaunchAsync("demo", "--clean", directory);

        Assert.Equal((0, $"stopped and deleted {directory}\n"), (clean.ExitCode, clean.StandardOutput));
        Assert.False(Directory.Exists(directory));
        Assert.Empty(ProcessesUsing(directory));
    }

    [Fact]
    public async Task Demo_WhenTheRuntimeCannotStartContainers_FailsAtTheVerifiedLaunchAndCleansUp()
    {
        var directory = _scratch["demo"];

        var demo = await TrustLaunchAsync("demo", "--dir", directory, "--runtime", "/bin/false");

        Assert.Equal(1, demo.ExitCode);
        Assert.StartsWith("demo FAILED: the verified launch should print 'Hello from a verified container' and exit 0; it exited 1: error: ", demo.StandardError);
        Assert.DoesNotContain("demo passed", demo.StandardOutput);
        Assert.False(Directory.Exists(directory));
        Assert.Empty(ProcessesUsing(directory));
    }

    [Fact]
    public async Task Demo_InAnExistingDirectory_IsRefusedAndTouchesNothing()
    {
        var directory = _scratch["existing"];
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(System.IO.Path.Combine(directory, "keep.txt"), "mine");

        var demo = await TrustLaunchAsync("demo", "--dir", directory);
        var clean = await TrustLaunchAsync("demo", "--clean", directory);

        Assert.Equal((2, $"error: --dir {directory} exists; the demo starts from an empty directory\n"), (demo.ExitCode, demo.StandardError));
        Assert.Equal((2, $"error: --clean {directory}: not a demo directory (no processes file)\n"), (clean.ExitCode, clean.StandardError));
        Assert.Equal("mine", await File.ReadAllTextAsync(System.IO.Path.Combine(directory, "keep.txt")));
    }
}
