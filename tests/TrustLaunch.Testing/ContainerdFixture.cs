using System.Diagnostics;
using System.Net.Sockets;
using Xunit;

namespace TrustLaunch.Testing;

/// <summary>
/// Debian's containerd 1.6 with a root, state, socket and config of its own under a temp directory (the system
/// service and /run/containerd stay untouched, except the hash-named shim sockets containerd 1.6 always puts in
/// /run/containerd/s): CRI plugin with runc v2 shims on cgroupfs, overlayfs, <c>restrict_oom_score_adj</c> (root
/// lacks CAP_SYS_RESOURCE on these VMs), its stream server on 127.0.0.1, and registry mirrors sending docker.io,
/// registry.k8s.io, gcr.io and quay.io to a loopback registry, which holds the sandbox image
/// <see cref="SandboxImage"/> (busybox-static sleeping), already pulled into containerd. Pods use the host network, or with <see cref="PodNetwork"/> one of their own. Dispose kills containerd and
/// its shims (found by this socket on their command line), unmounts what they left and deletes the directory.
/// </summary>
public sealed class ContainerdFixture : IAsyncLifetime
{
    public const string SandboxImage = "registry.k8s.io/pause:3.9";

    /// <summary>The containerd namespace the CRI plugin keeps its images and containers in.</summary>
    public const string CriNamespace = "k8s.io";
    public static readonly string[] MirroredRegistries = ["docker.io", "registry.k8s.io", "gcr.io", "quay.io"];

    private Process? _process;

    public RegistryFixture Registry { get; } = new();
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-containerd-").FullName;
    public string Socket => Path.Combine(Directory, "containerd.sock");
    public string Root => Path.Combine(Directory, "root");
    public string State => Path.Combine(Directory, "state");
    public string ConfigPath => Path.Combine(Directory, "config.toml");
    public string LogPath => Path.Combine(Directory, "containerd.log");

    /// <summary>Where overlayfs keeps the unpacked layers (<c>snapshots/N/fs</c>).</summary>
    public string SnapshotsDirectory => Path.Combine(Root, "io.containerd.snapshotter.v1.overlayfs", "snapshots");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Mount a tmpfs at <see cref="SnapshotsDirectory"/>'s snapshotter directory before containerd starts (decrypted layers stay in memory).</summary>
    public bool MemorySnapshots { get; init; }

    /// <summary>
    /// Pods may have a network namespace of their own (not only the host's): a CNI bridge of this fixture's, with no
    /// uplink, no address on the host's side and no masquerading, addresses from host-local kept under
    /// <see cref="Directory"/>, the namespaces under containerd's state; the bridge is deleted at dispose.
    /// </summary>
    public bool PodNetwork { get; init; }

    /// <summary>The bridge of <see cref="PodNetwork"/> (a name of its own: fixtures of parallel test runs each have one).</summary>
    private readonly string _bridge = "tl" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(5));

    /// <summary>
    /// The command (path, then arguments) containerd runs as its ocicrypt stream processor for encrypted tar and
    /// tar+gzip layers (set before <see cref="InitializeAsync"/>); null: containerd's default (<c>ctd-decoder</c>, not installed here).
    /// </summary>
    public IReadOnlyList<string>? StreamProcessor { get; set; }

    /// <summary><see cref="SandboxImage"/> as the loopback registry holds it (<c>HOST/pause:3.9</c>).</summary>
    public PushedImage SandboxImagePushed { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Registry.InitializeAsync();
        var layout = Path.Combine(Directory, "pause-layout");
        await TestImages.BuildAsync(layout, "pause");
        // A sandbox must stay up until it is stopped (SIGKILL): busybox's sleep is enough of a pause.
        (await ProcessRunner.RunAsync("umoci", ["config", "--image", $"{layout}:pause", "--config.cmd", "/bin/busybox", "--config.cmd", "sleep", "--config.cmd", "2147483647"]))
            .EnsureSuccess("umoci config");
        SandboxImagePushed = await TestImages.PushAsync(Registry, layout, "pause", "pause", "3.9");
        await File.WriteAllTextAsync(ConfigPath, Config());
        if (PodNetwork)
            await WritePodNetworkAsync();
        if (MemorySnapshots)
        {
            var snapshotter = System.IO.Directory.CreateDirectory(Path.GetDirectoryName(SnapshotsDirectory)!).FullName;
            (await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", "mode=0700", "tmpfs", snapshotter])).EnsureSuccess("mount tmpfs (snapshots)");
        }
        await StartAsync();
        await PullSandboxImageAsync();
    }

    private async Task WritePodNetworkAsync()
    {
        var conf = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "cni")).FullName;
        var subnet = $"10.{System.Security.Cryptography.RandomNumberGenerator.GetInt32(200, 250)}.{System.Security.Cryptography.RandomNumberGenerator.GetInt32(0, 256)}.0/24";
        await File.WriteAllTextAsync(Path.Combine(conf, "10-trustlaunch-test.conflist"), $$$"""
            {"cniVersion": "0.4.0", "name": "trustlaunch-test", "plugins": [
              {"type": "bridge", "bridge": "{{{_bridge}}}", "isGateway": false, "ipMasq": false,
               "ipam": {"type": "host-local", "ranges": [[{"subnet": "{{{subnet}}}"}]], "dataDir": "{{{Path.Combine(Directory, "cni-ipam")}}}"}}]}
            """);
    }

    /// <summary>
    /// Puts <see cref="SandboxImage"/> into the CRI plugin's store past any CRI endpoint, as a provisioned node has it
    /// (kubeadm pulls it beforehand): under its repository digest and its tag, the names a CRI pull gives it.
    /// </summary>
    public async Task PullSandboxImageAsync()
    {
        var hosts = Path.Combine(Directory, "hosts.d", "registry.k8s.io");
        System.IO.Directory.CreateDirectory(hosts);
        await File.WriteAllTextAsync(Path.Combine(hosts, "hosts.toml"), $"server = \"http://{Registry.Host}\"\n[host.\"http://{Registry.Host}\"]\n  capabilities = [\"pull\", \"resolve\"]\n");
        var byDigest = $"registry.k8s.io/pause@{SandboxImagePushed.ManifestDigest}";
        (await Ctr("images", "pull", "--hosts-dir", Path.GetDirectoryName(hosts)!, byDigest)).EnsureSuccess("ctr images pull");
        (await Ctr("images", "tag", "--force", byDigest, SandboxImage)).EnsureSuccess("ctr images tag");
    }

    private Task<ProcessResult> Ctr(params string[] arguments) =>
        ProcessRunner.RunAsync("ctr", ["--address", Socket, "--namespace", CriNamespace, .. arguments], timeout: TimeSpan.FromMinutes(1));

    public async Task StartAsync()
    {
        File.Delete(Socket);
        // Its log goes to a file: a pipe nobody drains would block it.
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        foreach (var argument in new[] { "-c", "exec containerd --config \"$0\" >>\"$1\" 2>&1", ConfigPath, LogPath })
            info.ArgumentList.Add(argument);
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start containerd");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"containerd exited with {_process.ExitCode}: {ReadLog()}");
            if (File.Exists(Socket) && await AnswersAsync())
                return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"containerd did not serve {Socket} within 30 s: {ReadLog()}");
    }

    /// <summary>SIGKILLs containerd (its shims and containers keep running, as after a crash).</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    public async Task DisposeAsync()
    {
        await KillAsync();
        foreach (var shim in ShimProcesses())
        {
            try
            {
                shim.Kill(entireProcessTree: true);
                await GoneAsync(shim.Id);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            finally
            {
                shim.Dispose();
            }
        }
        ReapShimZombies();
        foreach (var mount in MountsUnder(Directory))
            await ProcessRunner.RunAsync("umount", ["-l", mount]);
        if (PodNetwork && System.IO.Directory.Exists($"/sys/class/net/{_bridge}"))
            (await ProcessRunner.RunAsync("ip", ["link", "delete", _bridge])).EnsureSuccess("ip link delete " + _bridge);
        System.IO.Directory.Delete(Directory, recursive: true);
        await Registry.DisposeAsync();
    }

    private string Config()
    {
        var mirrors = string.Concat(MirroredRegistries.Select(r => $$"""

              [plugins."io.containerd.grpc.v1.cri".registry.mirrors."{{r}}"]
                endpoint = ["http://{{Registry.Host}}"]
            """));
        return $$"""
            version = 2
            root = "{{Root}}"
            state = "{{State}}"
            disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

            [grpc]
              address = "{{Socket}}"
            [ttrpc]
              address = "{{Socket}}.ttrpc"
            [debug]
              address = ""
            [metrics]
              address = ""

            [plugins."io.containerd.internal.v1.opt"]
              path = "{{Path.Combine(Directory, "opt")}}"

            [plugins."io.containerd.grpc.v1.cri"]
              sandbox_image = "{{SandboxImage}}"
              restrict_oom_score_adj = true
              stream_server_address = "127.0.0.1"
              stream_server_port = "0"
              netns_mounts_under_state_dir = {{(PodNetwork ? "true" : "false")}}
              [plugins."io.containerd.grpc.v1.cri".containerd]
                snapshotter = "overlayfs"
                default_runtime_name = "runc"
                [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                  runtime_type = "io.containerd.runc.v2"
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                    SystemdCgroup = false
                    Root = "{{Path.Combine(Directory, "runc")}}"
              [plugins."io.containerd.grpc.v1.cri".cni]
                bin_dir = "/usr/lib/cni"
                conf_dir = "{{Path.Combine(Directory, "cni")}}"
            {{mirrors}}
            {{StreamProcessors()}}
            """;
    }

    private string StreamProcessors()
    {
        if (StreamProcessor is not { Count: > 0 } command)
            return "";
        var path = command[0];
        var quotedArgs = string.Join(", ", command.Skip(1).Select(a => $"\"{a}\""));
        return string.Concat(new[] { ("tar", "tar"), ("tar.gzip", "tar+gzip") }.Select(t => $$"""

            [stream_processors."io.containerd.ocicrypt.decoder.v1.{{t.Item1}}"]
              accepts = ["application/vnd.oci.image.layer.v1.{{t.Item2}}+encrypted"]
              returns = "application/vnd.oci.image.layer.v1.{{t.Item2}}"
              path = "{{path}}"
              args = [{{quotedArgs}}]
            """));
    }

    private async Task<bool> AnswersAsync()
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket));
            return (await ProcessRunner.RunAsync("ctr", ["--address", Socket, "version"], timeout: TimeSpan.FromSeconds(10))).ExitCode == 0;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Waits until a killed shim is gone or a zombie. A test that made this process a child subreaper adopts the shims
    /// when they daemonize, and <see cref="Process.WaitForExitAsync"/> of a process it did not start never sees such a
    /// zombie go: it is reaped here instead (another parent reaps its own).
    /// </summary>
    private static async Task GoneAsync(int pid)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (StateOf(pid) is { } state)
        {
            if (state == 'Z')
            {
                TrustLaunch.Measurement.Native.Libc.Waitpid(pid, out _, TrustLaunch.Measurement.Native.Libc.WNOHANG);
                return;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"containerd shim {pid} did not exit after SIGKILL");
            await Task.Delay(20);
        }
    }

    /// <summary>Reaps the shims adopted by this process that exited earlier (when their containers went).</summary>
    private static void ReapShimZombies()
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && StatOf(pid) is { } stat
                && stat.Contains("(containerd-shim)", StringComparison.Ordinal) && StateOf(pid) == 'Z')
                TrustLaunch.Measurement.Native.Libc.Waitpid(pid, out _, TrustLaunch.Measurement.Native.Libc.WNOHANG);
        }
    }

    private static string? StatOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The process state letter of /proc/PID/stat (after the parenthesised command name); null when gone.</summary>
    private static char? StateOf(int pid) => StatOf(pid) is { } stat ? stat[stat.LastIndexOf(')') + 2] : null;

    /// <summary>The runc v2 shims this containerd started: their command line names its socket.</summary>
    private List<Process> ShimProcesses()
    {
        var shims = new List<Process>();
        foreach (var dir in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string[] argv;
            try
            {
                argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue;
            }
            if (argv.Length > 0 && Path.GetFileName(argv[0]) == "containerd-shim-runc-v2" && argv.Contains(Socket))
            {
                try
                {
                    shims.Add(Process.GetProcessById(pid));
                }
                catch (ArgumentException)
                {
                    // Exited meanwhile.
                }
            }
        }
        return shims;
    }

    /// <summary>Mount points below <paramref name="directory"/>, deepest first.</summary>
    private static List<string> MountsUnder(string directory) =>
        File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')[1].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(p => p.StartsWith(directory + "/", StringComparison.Ordinal)).Distinct().OrderByDescending(p => p.Length).ToList();
}
