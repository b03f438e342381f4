using TrustLaunch.Agent.Runtime;
using TrustLaunch.Oci.Bundles;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Agent.Tests.Runtime;

/// <summary>Real crun containers from a busybox-static rootfs.</summary>
public sealed class OciRuntimeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-runtime-").FullName;
    private readonly OciRuntime _runtime;

    public OciRuntimeTests()
    {
        ChildReaper.BecomeSubreaper();
        _runtime = new OciRuntime("crun", Path.Combine(_dir, "state"));
    }

    [Fact]
    public async Task CreateStart_ShellExitsSeven_OutputLoggedAndExitStatusReaped()
    {
        var bundle = Bundle("echo out; echo err >&2; exit 7");
        var log = Path.Combine(_dir, "c1.log");

        var pid = await _runtime.CreateAsync("c1", bundle, log);
        Assert.Equal("created", (await _runtime.StateAsync("c1"))!.Status);
        var exited = ChildReaper.WaitAsync(pid);
        await _runtime.StartAsync("c1");

        Assert.Equal(7, await exited.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("stopped", (await _runtime.StateAsync("c1"))!.Status);
        Assert.Equal("out\nerr\n", await File.ReadAllTextAsync(log));
        await _runtime.DeleteAsync("c1", force: false);
        Assert.Null(await _runtime.StateAsync("c1"));
    }

    [Fact]
    public async Task Kill_RunningContainer_ExitStatusIs128PlusSignal()
    {
        var pid = await _runtime.CreateAsync("c2", Bundle("sleep 60"), Path.Combine(_dir, "c2.log"));
        var exited = ChildReaper.WaitAsync(pid);
        await _runtime.StartAsync("c2");
        Assert.Equal("running", (await _runtime.StateAsync("c2"))!.Status);

        await _runtime.KillAsync("c2", "KILL");

        Assert.Equal(137, await exited.WaitAsync(TimeSpan.FromSeconds(30)));
        await _runtime.DeleteAsync("c2", force: false);
    }

    [Fact]
    public async Task Create_NameInUse_RefusedWithRuntimeMessage()
    {
        var bundle = Bundle("true");
        var pid = await _runtime.CreateAsync("c3", bundle, Path.Combine(_dir, "c3.log"));
        var exited = ChildReaper.WaitAsync(pid);

        var e = await Assert.ThrowsAsync<RuntimeException>(() => _runtime.CreateAsync("c3", bundle, Path.Combine(_dir, "c3.log")));

        Assert.Equal("crun create failed: container `c3` already exists", e.Message);
        await _runtime.DeleteAsync("c3", force: true);
        Assert.Equal(137, await exited.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task DeleteForce_RunningContainer_KilledAndItsCgroupsRemoved()
    {
        var pid = await _runtime.CreateAsync("c4", Bundle("sleep 60"), Path.Combine(_dir, "c4.log"));
        var exited = ChildReaper.WaitAsync(pid);
        await _runtime.StartAsync("c4");
        var cgroups = CgroupDirectories(pid);
        Assert.NotEmpty(cgroups);

        await _runtime.DeleteAsync("c4", force: true);

        Assert.Equal(137, await exited.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(cgroups, Directory.Exists);
        Assert.Null(await _runtime.StateAsync("c4"));
    }

    [Fact]
    public async Task State_UnknownContainer_IsNull() =>
        Assert.Null(await _runtime.StateAsync("never-created"));

    [Theory]
    [InlineData("../escape")]
    [InlineData("-rf")]
    [InlineData("")]
    [InlineData("a b")]
    public async Task Create_InvalidName_Refused(string id)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _runtime.CreateAsync(id, Bundle("true"), Path.Combine(_dir, "x.log")));
        Assert.StartsWith($"invalid container name '{id}'", e.Message);
    }

    /// <summary>The directories of the non-root cgroups <paramref name="pid"/> is in, v1 controllers and v2 alike.</summary>
    private static List<string> CgroupDirectories(int pid) =>
        File.ReadAllLines($"/proc/{pid}/cgroup").Select(line => line.Split(':', 3)[2]).Where(path => path != "/").Distinct()
            .SelectMany(path => Directory.EnumerateDirectories("/sys/fs/cgroup").Append("/sys/fs/cgroup").Select(root => root + path))
            .Where(Directory.Exists).ToList();

    private string Bundle(string script)
    {
        var bundle = Path.Combine(_dir, "bundle-" + Guid.NewGuid().ToString("N")[..8]);
        var bin = Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "bin")).FullName;
        File.Copy("/bin/busybox", Path.Combine(bin, "busybox"));
        File.CreateSymbolicLink(Path.Combine(bin, "sh"), "busybox");
        File.CreateSymbolicLink(Path.Combine(bin, "sleep"), "busybox");
        File.CreateSymbolicLink(Path.Combine(bin, "true"), "busybox");
        var image = new ImageConfig { RootFs = new ImageRootFs { DiffIds = [] } };
        RuntimeBundle.Write(bundle, image, new RuntimeBundleOptions { Command = ["/bin/sh", "-c", script], HostNetwork = true });
        return bundle;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
