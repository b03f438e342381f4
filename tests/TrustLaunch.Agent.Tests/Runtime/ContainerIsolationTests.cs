using System.Net;
using System.Net.Sockets;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Oci.Bundles;
using TrustLaunch.Testing;

namespace TrustLaunch.Agent.Tests.Runtime;

/// <summary>
/// What a container gets by default (a Kubernetes pod's isolation under containerd), checked from inside real crun
/// and runc containers: each defence has a case that fails when it is removed.
/// </summary>
public sealed class ContainerIsolationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-isolation-").FullName;

    public ContainerIsolationTests() => ChildReaper.BecomeSubreaper();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<(int Exit, string Output)> RunAsync(string runtime, string script, RuntimeBundleOptions? options = null, IReadOnlyDictionary<string, string>? files = null) =>
        BusyboxBundle.RunAsync(new OciRuntime(runtime, Path.Combine(_dir, "state-" + runtime)), "iso-" + Guid.NewGuid().ToString("N")[..8],
            BusyboxBundle.Create(_dir, script, options, files));

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task Default_OwnNetworkNamespace_LoopbackUpAndHostLoopbackUnreachable(string runtime)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var (exit, output) = await RunAsync(runtime, $"ls /sys/class/net; cat /sys/class/net/lo/flags; nc 127.0.0.1 {port} </dev/null && echo reached || echo unreachable");

        Assert.Equal((0, "lo\n0x9\nunreachable\n"), (exit, RemoveNcMessage(output)));
        Assert.False(listener.Pending());
    }

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task HostNetwork_HostLoopbackReached(string runtime)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var received = ReceiveLineAsync(listener);

        var (exit, output) = await RunAsync(runtime, $"echo hello | nc 127.0.0.1 {port} && echo reached", new RuntimeBundleOptions { HostNetwork = true });

        Assert.Equal((0, "reached\n"), (exit, output));
        Assert.Equal("hello", await received.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData("crun", false)]
    [InlineData("runc", false)]
    [InlineData("crun", true)]
    [InlineData("runc", true)]
    public async Task CgroupfsAndSysfs_ReadOnlyOwnCgroupsAndPidsLimit(string runtime, bool hostNetwork)
    {
        const string script = """
            for d in /sys/fs/cgroup/*/; do mkdir "$d/escape" 2>/dev/null && echo "wrote $d"; done
            touch /sys/escape 2>/dev/null && echo "wrote /sys"
            grep -q '^0::/$' /proc/self/cgroup && echo own-cgroup-namespace
            cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max
            """;

        var (exit, output) = await RunAsync(runtime, script, new RuntimeBundleOptions { HostNetwork = hostNetwork, PidsLimit = 321 });

        Assert.Equal((0, "own-cgroup-namespace\n321\n"), (exit, output));
    }

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task Proc_MountedNosuidNoexecNodevWithContainerdsMaskedAndReadOnlyPaths(string runtime)
    {
        const string script = """
            grep ' /proc proc ' /proc/self/mounts | grep -q 'nosuid,nodev,noexec' && echo proc-options
            cat /proc/keys /proc/timer_list | wc -c
            ls /sys/firmware | wc -l
            echo 1 2>/dev/null >/proc/sysrq-trigger || echo sysrq-read-only
            touch /proc/sys/kernel/x 2>/dev/null || echo proc-sys-read-only
            """;

        var (exit, output) = await RunAsync(runtime, script);

        Assert.Equal((0, "proc-options\n0\n0\nsysrq-read-only\nproc-sys-read-only\n"), (exit, output));
    }

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task DefaultSeccomp_UserNamespaceKeyctlAndMountRefusedBusyboxStillWorks(string runtime)
    {
        const string script = """
            grep '^Seccomp:' /proc/self/status
            unshare -U true 2>/dev/null || echo unshare-refused
            mount -t tmpfs none /mnt 2>/dev/null || echo mount-refused
            /probe
            echo a b c | (read x y z; echo "$z$y$x") | cat
            """;

        var (exit, output) = await RunAsync(runtime, script, files: new Dictionary<string, string> { ["/probe"] = await SyscallProbe.PathAsync() });

        Assert.Equal((0, "Seccomp:\t2\nunshare-refused\nmount-refused\nkeyctl: Operation not permitted\ncba\n"), (exit, output));
    }

    [Theory]
    [InlineData("crun")]
    [InlineData("runc")]
    public async Task SeccompUnconfined_UserNamespaceAndKeyctlAllowed(string runtime)
    {
        const string script = """
            grep '^Seccomp:' /proc/self/status
            unshare -U true && echo unshare-allowed
            /probe
            """;

        var (exit, output) = await RunAsync(runtime, script, new RuntimeBundleOptions { SeccompUnconfined = true },
            new Dictionary<string, string> { ["/probe"] = await SyscallProbe.PathAsync() });

        Assert.Equal((0, "Seccomp:\t0\nunshare-allowed\nkeyctl: ok\n"), (exit, output));
    }

    /// <summary>Accepts one connection, reads a line and hangs up (busybox nc waits for the peer to close).</summary>
    private static async Task<string?> ReceiveLineAsync(TcpListener listener)
    {
        using var client = await listener.AcceptTcpClientAsync();
        return await new StreamReader(client.GetStream()).ReadLineAsync();
    }

    /// <summary>busybox nc prints its own "connection refused" line to stderr, which shares the log.</summary>
    private static string RemoveNcMessage(string output) =>
        string.Join("", output.Split('\n').Where(l => !l.StartsWith("nc: ", StringComparison.Ordinal)).Select(l => l + "\n"))[..^1];
}

/// <summary>A static C program that calls keyctl(2) (which busybox cannot) and prints the outcome; compiled once with gcc.</summary>
internal static class SyscallProbe
{
    private const string Source = """
        #include <errno.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/syscall.h>
        #include <unistd.h>
        int main(void) {
            /* KEYCTL_GET_KEYRING_ID (0) of KEY_SPEC_SESSION_KEYRING (-3), without creating it */
            long id = syscall(SYS_keyctl, 0, -3, 0);
            printf("keyctl: %s\n", id < 0 ? strerror(errno) : "ok");
            return 0;
        }
        """;

    private static readonly Lazy<Task<string>> Compiled = new(CompileAsync);

    public static Task<string> PathAsync() => Compiled.Value;

    private static async Task<string> CompileAsync()
    {
        var dir = Directory.CreateTempSubdirectory("trustlaunch-probe-").FullName;
        var source = Path.Combine(dir, "probe.c");
        var binary = Path.Combine(dir, "probe");
        await File.WriteAllTextAsync(source, Source);
        (await ProcessRunner.RunAsync("gcc", ["-static", "-O2", "-o", binary, source])).EnsureSuccess("gcc");
        return binary;
    }
}
