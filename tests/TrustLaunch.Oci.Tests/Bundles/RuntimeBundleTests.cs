using System.Text.Json;
using TrustLaunch.Oci.Bundles;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Bundles;

public sealed class RuntimeBundleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tl-bundle-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Rootfs(string passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        string group = "root:x:0:\napp:x:1000:\nextra:x:2000:other,app\nnone:x:3000:other\n")
    {
        var rootfs = Path.Combine(_dir, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), passwd);
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), group);
        return rootfs;
    }

    private static ImageConfig Image(string? user = null, IReadOnlyList<string>? entrypoint = null, IReadOnlyList<string>? cmd = null,
        IReadOnlyList<string>? env = null, string? workdir = null) => new()
        {
            RootFs = new ImageRootFs { DiffIds = [] },
            Config = new ImageProcessConfig { User = user, Entrypoint = entrypoint, Cmd = cmd, Env = env, WorkingDir = workdir },
        };

    [Theory]
    [InlineData(null, 0u, 0u, "0")]
    [InlineData("app", 1000u, 1000u, "1000,2000")]
    [InlineData("1000", 1000u, 1000u, "1000,2000")]
    [InlineData("4242", 4242u, 0u, "0")]
    [InlineData("app:extra", 1000u, 2000u, "2000")]
    [InlineData("5:7", 5u, 7u, "7")]
    public void ResolveUser_Forms_Resolved(string? user, uint uid, uint gid, string additional)
    {
        var resolved = RuntimeBundle.ResolveUser(Rootfs(), user);
        Assert.Equal((uid, gid, additional), (resolved.Uid, resolved.Gid, string.Join(',', resolved.AdditionalGids)));
    }

    [Fact]
    public void ResolveUser_UnknownName_Refused() =>
        Assert.Equal("user 'nobody' not found in the image's /etc/passwd",
            Assert.Throws<InvalidOperationException>(() => RuntimeBundle.ResolveUser(Rootfs(), "nobody")).Message);

    [Fact]
    public void ResolveUser_PasswdSymlinkOutOfRootfs_StaysInside()
    {
        var rootfs = Rootfs();
        File.WriteAllText(Path.Combine(_dir, "host-passwd"), "evil:x:4242:4242::/:/bin/sh\n");
        File.Delete(Path.Combine(rootfs, "etc", "passwd"));
        File.CreateSymbolicLink(Path.Combine(rootfs, "etc", "passwd"), "../../../../../../../host-passwd");
        Assert.Equal(Path.Combine(rootfs, "host-passwd"), RootfsPath.Resolve(rootfs, "/etc/passwd"));
        File.Delete(Path.Combine(rootfs, "etc", "passwd"));
        File.CreateSymbolicLink(Path.Combine(rootfs, "etc", "passwd"), Path.Combine(_dir, "host-passwd"));
        Assert.Equal(Path.Combine(rootfs, Path.Combine(_dir, "host-passwd").TrimStart('/')), RootfsPath.Resolve(rootfs, "/etc/passwd"));
        Assert.Throws<InvalidOperationException>(() => RuntimeBundle.ResolveUser(rootfs, "evil"));
    }

    [Fact]
    public async Task ResolveUser_PasswdIsFifo_DoesNotBlock()
    {
        var rootfs = Rootfs();
        File.Delete(Path.Combine(rootfs, "etc", "passwd"));
        (await ProcessRunner.RunAsync("mkfifo", [Path.Combine(rootfs, "etc", "passwd")])).EnsureSuccess("mkfifo");
        var resolve = Task.Run(() => RuntimeBundle.ResolveUser(rootfs, "1000"));
        Assert.Same(resolve, await Task.WhenAny(resolve, Task.Delay(5000)));
        Assert.Equal(0u, (await resolve).Gid);
    }

    [Fact]
    public void BuildConfig_ImageDefaults_Applied()
    {
        var bytes = RuntimeBundle.BuildConfig(Rootfs(), Image("app", ["/entry"], ["a", "b"], ["FOO=1", "PATH=/x"], "/work"),
            new RuntimeBundleOptions { Command = ["c"], Env = ["FOO=2"], HostNetwork = true });
        using var doc = JsonDocument.Parse(bytes);
        var root = doc.RootElement;
        var process = root.GetProperty("process");
        Assert.Equal("1.0.2", root.GetProperty("ociVersion").GetString());
        Assert.Equal(["/entry", "c"], process.GetProperty("args").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["PATH=/x", "FOO=2"], process.GetProperty("env").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("/work", process.GetProperty("cwd").GetString());
        Assert.Equal(1000u, process.GetProperty("user").GetProperty("uid").GetUInt32());
        Assert.True(process.GetProperty("noNewPrivileges").GetBoolean());
        Assert.False(process.GetProperty("terminal").GetBoolean());
        Assert.Equal(14, process.GetProperty("capabilities").GetProperty("bounding").GetArrayLength());
        // Host networking (asked for here) is the only namespace shared; the cgroup namespace is always new (issue 15).
        Assert.Equal(["pid", "ipc", "uts", "mount", "cgroup"], root.GetProperty("linux").GetProperty("namespaces").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
    }

    [Fact]
    public void BuildConfig_Defaults_PodIsolation()
    {
        using var doc = JsonDocument.Parse(RuntimeBundle.BuildConfig(Rootfs(), Image(cmd: ["c"]), new RuntimeBundleOptions()));
        var linux = doc.RootElement.GetProperty("linux");
        var mounts = doc.RootElement.GetProperty("mounts").EnumerateArray().ToDictionary(m => m.GetProperty("destination").GetString()!,
            m => (m.GetProperty("type").GetString(), string.Join(',', m.GetProperty("options").EnumerateArray().Select(o => o.GetString()))));

        Assert.Equal(["pid", "ipc", "uts", "mount", "network", "cgroup"], linux.GetProperty("namespaces").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(("proc", "nosuid,noexec,nodev"), mounts["/proc"]);
        Assert.Equal(("sysfs", "nosuid,noexec,nodev,ro"), mounts["/sys"]);
        Assert.Equal(("cgroup", "nosuid,noexec,nodev,relatime,ro"), mounts["/sys/fs/cgroup"]);
        Assert.Equal(4096, linux.GetProperty("resources").GetProperty("pids").GetProperty("limit").GetInt64());
        Assert.Contains("/sys/devices/virtual/powercap", linux.GetProperty("maskedPaths").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal("SCMP_ACT_ERRNO", linux.GetProperty("seccomp").GetProperty("defaultAction").GetString());
    }

    [Fact]
    public void BuildConfig_HostNetworkUnconfined_HostSysBoundRecursivelyReadOnlyNoSeccomp()
    {
        using var doc = JsonDocument.Parse(RuntimeBundle.BuildConfig(Rootfs(), Image(cmd: ["c"]), new RuntimeBundleOptions { HostNetwork = true, SeccompUnconfined = true }));
        var sys = doc.RootElement.GetProperty("mounts").EnumerateArray().Single(m => m.GetProperty("destination").GetString() == "/sys");

        Assert.Equal(("none", "/sys", "rbind,rro,nosuid,noexec,nodev"),
            (sys.GetProperty("type").GetString(), sys.GetProperty("source").GetString(), string.Join(',', sys.GetProperty("options").EnumerateArray().Select(o => o.GetString()))));
        Assert.False(doc.RootElement.GetProperty("linux").TryGetProperty("seccomp", out _));
    }

    [Fact]
    public void BuildConfig_NoCommand_Refused() =>
        Assert.Throws<InvalidOperationException>(() => RuntimeBundle.BuildConfig(Rootfs(), Image(), new RuntimeBundleOptions()));
}

/// <summary>Busybox bundles made with umoci, run with crun.</summary>
public sealed class CrunBundleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tl-crun-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> BusyboxBundle(string? passwd = null)
    {
        var layout = Path.Combine(_dir, "layout");
        var bundle = Path.Combine(_dir, "bundle");
        (await ProcessRunner.RunAsync("umoci", ["init", "--layout", layout])).EnsureSuccess("umoci init");
        (await ProcessRunner.RunAsync("umoci", ["new", "--image", layout + ":t"])).EnsureSuccess("umoci new");
        (await ProcessRunner.RunAsync("umoci", ["unpack", "--image", layout + ":t", bundle])).EnsureSuccess("umoci unpack");
        var bin = Path.Combine(bundle, "rootfs", "bin");
        Directory.CreateDirectory(bin);
        File.Copy("/bin/busybox", Path.Combine(bin, "busybox"));
        foreach (var applet in new[] { "sh", "echo", "cat", "id", "grep", "hostname", "wc", "ls" })
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        if (passwd is not null)
        {
            Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "etc"));
            File.WriteAllText(Path.Combine(bundle, "rootfs", "etc", "passwd"), passwd);
            File.WriteAllText(Path.Combine(bundle, "rootfs", "etc", "group"), "app:x:1000:\nextra:x:2000:app\n");
        }
        return bundle;
    }

    private static ImageConfig Image(string? user = null) =>
        new() { RootFs = new ImageRootFs { DiffIds = [] }, Config = new ImageProcessConfig { User = user } };

    [Fact]
    public async Task Write_BusyboxBundle_CrunRunsIt()
    {
        var bundle = await BusyboxBundle();
        RuntimeBundle.Write(bundle, Image(), new RuntimeBundleOptions { Command = ["/bin/sh", "-c", "echo hello-from-bundle"] });
        var (exit, stdout, stderr) = await Crun.RunAsync(bundle, _dir);
        Assert.True(exit == 0, $"crun exited {exit}: {stderr}");
        Assert.Equal("hello-from-bundle\n", stdout);
    }

    [Fact]
    public async Task Write_Defaults_CapabilitiesNoNewPrivsHostname()
    {
        var bundle = await BusyboxBundle();
        RuntimeBundle.Write(bundle, Image(), new RuntimeBundleOptions
        {
            Command = ["/bin/sh", "-c", "grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/self/status; hostname; cat /proc/kcore | wc -c"],
            Hostname = "golden-test",
        });
        var (exit, stdout, stderr) = await Crun.RunAsync(bundle, _dir);
        Assert.True(exit == 0, $"crun exited {exit}: {stderr}");
        Assert.Contains("CapBnd:\t00000000a80425fb\n", stdout);
        Assert.Contains("CapEff:\t00000000a80425fb\n", stdout);
        Assert.Contains("NoNewPrivs:\t1\n", stdout);
        Assert.Contains("golden-test\n", stdout);
        Assert.EndsWith("golden-test\n0\n", stdout); // /proc/kcore masked
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_NetworkModes_SeeOwnOrHostInterfaces(bool hostNetwork)
    {
        var bundle = await BusyboxBundle();
        RuntimeBundle.Write(bundle, Image(), new RuntimeBundleOptions { Command = ["/bin/sh", "-c", "ls /sys/class/net"], HostNetwork = hostNetwork });
        var (exit, stdout, stderr) = await Crun.RunAsync(bundle, _dir);
        Assert.True(exit == 0, $"crun exited {exit}: {stderr}");
        var host = Directory.GetFileSystemEntries("/sys/class/net").Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(hostNetwork ? host : ["lo"], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Write_NamedUser_RunsAsResolvedIds()
    {
        var bundle = await BusyboxBundle("app:x:1000:1000::/:/bin/sh\n");
        RuntimeBundle.Write(bundle, Image("app"), new RuntimeBundleOptions { Command = ["/bin/id"] });
        var (exit, stdout, stderr) = await Crun.RunAsync(bundle, _dir);
        Assert.True(exit == 0, $"crun exited {exit}: {stderr}");
        Assert.Equal("uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n", stdout);
    }
}

/// <summary>
/// Runs a bundle with <c>crun run</c>, stdout and stderr to files. On a cgroup "hybrid" host (v1 controllers plus a
/// cgroup2 hierarchy at /sys/fs/cgroup/unified with controllers, as in this sandbox) crun 1.8 refuses to start
/// ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"), with any --cgroup-manager; there
/// crun runs in a private mount namespace with the cgroup2 mount detached, which crun then treats as cgroup v1.
/// </summary>
internal static class Crun
{
    public static bool HybridCgroups
    {
        get
        {
            const string unified = "/sys/fs/cgroup/unified/cgroup.controllers";
            return File.Exists(unified) && File.ReadAllText(unified).Trim().Length > 0 && !File.Exists("/sys/fs/cgroup/cgroup.controllers");
        }
    }

    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string bundle, string workDir)
    {
        var id = "test-" + Guid.NewGuid().ToString("N")[..12];
        var stdout = Path.Combine(workDir, id + ".out");
        var stderr = Path.Combine(workDir, id + ".err");
        const string script = "exec crun run --bundle \"$1\" \"$2\" >\"$3\" 2>\"$4\" </dev/null";
        var result = HybridCgroups
            ? await ProcessRunner.RunAsync("unshare", ["-m", "sh", "-c", "umount -l /sys/fs/cgroup/unified && " + script, "sh", bundle, id, stdout, stderr], timeout: TimeSpan.FromSeconds(60))
            : await ProcessRunner.RunAsync("sh", ["-c", script, "sh", bundle, id, stdout, stderr], timeout: TimeSpan.FromSeconds(60));
        return (result.ExitCode, File.ReadAllText(stdout), File.ReadAllText(stderr) + result.StandardError);
    }
}
