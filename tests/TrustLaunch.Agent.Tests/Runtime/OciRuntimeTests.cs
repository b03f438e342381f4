using TrustLaunch.Agent.Runtime;

namespace TrustLaunch.Agent.Tests.Runtime;

/// <summary>Real crun and runc containers from a busybox-static rootfs.</summary>
public sealed class OciRuntimeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-runtime-").FullName;

    public OciRuntimeTests() => ChildReaper.BecomeSubreaper();

    private OciRuntime Runtime(string binary) => new(binary, Path.Combine(_dir, "state-" + binary));

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task CreateStart_ShellExitsSeven_OutputLoggedAndExitStatusReaped(string binary)
    {
        var runtime = Runtime(binary);
        var bundle = Bundle("echo out; echo err >&2; exit 7");
        var log = Path.Combine(_dir, "c1.log");

        var pid = await runtime.CreateAsync("c1", bundle, log);
        Assert.Equal("created", (await runtime.StateAsync("c1"))!.Status);
        var exited = ChildReaper.WaitAsync(pid);
        await runtime.StartAsync("c1");

        Assert.Equal(7, await exited.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("stopped", (await runtime.StateAsync("c1"))!.Status);
        Assert.Equal("out\nerr\n", await File.ReadAllTextAsync(log));
        await runtime.DeleteAsync("c1", force: false);
        Assert.Null(await runtime.StateAsync("c1"));
    }

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task Kill_RunningContainer_ExitStatusIs128PlusSignal(string binary)
    {
        var runtime = Runtime(binary);
        var pid = await runtime.CreateAsync("c2", Bundle("sleep 60"), Path.Combine(_dir, "c2.log"));
        var exited = ChildReaper.WaitAsync(pid);
        await runtime.StartAsync("c2");
        Assert.Equal("running", (await runtime.StateAsync("c2"))!.Status);

        await runtime.KillAsync("c2", "KILL");

        Assert.Equal(137, await exited.WaitAsync(TimeSpan.FromSeconds(30)));
        await runtime.DeleteAsync("c2", force: false);
    }

    [Theory]
    [InlineData("crun", "crun create failed: container `c3` already exists")]
    [InlineData("runc", "runc create failed: container with given ID already exists")]
    public async Task Create_NameInUse_RefusedWithRuntimeMessage(string binary, string message)
    {
        var runtime = Runtime(binary);
        var bundle = Bundle("true");
        var pid = await runtime.CreateAsync("c3", bundle, Path.Combine(_dir, "c3.log"));
        var exited = ChildReaper.WaitAsync(pid);

        var e = await Assert.ThrowsAsync<RuntimeException>(() => runtime.CreateAsync("c3", bundle, Path.Combine(_dir, "c3.log")));

        Assert.Equal(message, e.Message);
        await runtime.DeleteAsync("c3", force: true);
        Assert.Equal(137, await exited.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task DeleteForce_RunningContainer_KilledAndItsCgroupsRemoved(string binary)
    {
        var runtime = Runtime(binary);
        var pid = await runtime.CreateAsync("c4", Bundle("sleep 60"), Path.Combine(_dir, "c4.log"));
        var exited = ChildReaper.WaitAsync(pid);
        await runtime.StartAsync("c4");
        var cgroups = CgroupDirectories(pid);
        Assert.NotEmpty(cgroups);

        await runtime.DeleteAsync("c4", force: true);

        Assert.Equal(137, await exited.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(cgroups, Directory.Exists);
        Assert.Null(await runtime.StateAsync("c4"));
    }

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task State_UnknownContainer_IsNull(string binary) =>
        Assert.Null(await Runtime(binary).StateAsync("never-created"));

    [Theory]
    [InlineData("../escape")]
    [InlineData("-rf")]
    [InlineData("")]
    [InlineData("a b")]
    public async Task Create_InvalidName_Refused(string id)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Runtime("crun").CreateAsync(id, Bundle("true"), Path.Combine(_dir, "x.log")));
        Assert.StartsWith($"invalid container name '{id}'", e.Message);
    }

    /// <summary>The directories of the non-root cgroups <paramref name="pid"/> is in, v1 controllers and v2 alike.</summary>
    private static List<string> CgroupDirectories(int pid) =>
        File.ReadAllLines($"/proc/{pid}/cgroup").Select(line => line.Split(':', 3)[2]).Where(path => path != "/").Distinct()
            .SelectMany(path => Directory.EnumerateDirectories("/sys/fs/cgroup").Append("/sys/fs/cgroup").Select(root => root + path))
            .Where(Directory.Exists).ToList();

    private string Bundle(string script) => BusyboxBundle.Create(_dir, script);

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
