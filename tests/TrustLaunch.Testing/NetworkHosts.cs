using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace TrustLaunch.Testing;

/// <summary>One host of a <see cref="NetworkHosts"/>: its network namespace and its one address.</summary>
public sealed record NetworkHost(string Name, string Namespace, IPAddress Address, string SwitchPort)
{
    /// <summary>What runs a command on this host: <c>ip netns exec NAMESPACE</c> (it execs, so the pid is the command's).</summary>
    public IReadOnlyList<string> CommandPrefix => ["ip", "netns", "exec", Namespace];

    /// <summary><c>ADDRESS:PORT</c>.</summary>
    public string Endpoint(int port) => string.Create(CultureInfo.InvariantCulture, $"{Address}:{port}");
}

/// <summary>
/// Several hosts on one switched network, made of network namespaces: a switch namespace holding a bridge, one
/// namespace per host with a veth (<c>eth0</c>) into the bridge and one address of a random private /24, and the test
/// process on the root namespace's end of one more veth (<see cref="TestSideAddress"/>), so it reaches every host.
/// The bridge lives in its own namespace, whose iptables are empty and whose bridge netfilter is off, so the
/// machine's firewall (br_netfilter, a FORWARD policy) never sees host-to-host traffic and nothing system-wide is
/// changed. <see cref="CutAsync"/> takes a host's switch port down, as a pulled cable would (peers time out or find no
/// route); <see cref="HealAsync"/> brings it back. Every name carries a random id (the root namespace's one interface
/// name stays within 15 characters); everything is deleted on dispose, also after a failed start.
/// </summary>
public sealed class NetworkHosts : IAsyncDisposable
{
    private static readonly Lock SubnetLock = new();
    private static readonly HashSet<int> SubnetsInUse = [];

    private readonly string _id = "tl" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
    private readonly Dictionary<string, NetworkHost> _hosts = new(StringComparer.Ordinal);
    private readonly List<string> _namespaces = [];
    private int _subnet = -1;

    private NetworkHosts()
    {
    }

    private string SwitchNamespace => _id + "-sw";
    private string TestSideInterface => _id;

    /// <summary>The test process's address on the network (<c>.1</c>).</summary>
    public IPAddress TestSideAddress { get; private set; } = IPAddress.None;

    /// <summary>The network, e.g. <c>10.123.45.0/24</c> (for a server's allowed clients).</summary>
    public string Network { get; private set; } = "";

    public IReadOnlyCollection<NetworkHost> Hosts => _hosts.Values;

    public NetworkHost this[string name] => _hosts.TryGetValue(name, out var host) ? host : throw new KeyNotFoundException($"no host '{name}'");

    /// <summary>Makes the switch and one host per name (addresses .2, .3, … in order) and checks every host reaches the test side.</summary>
    public static async Task<NetworkHosts> CreateAsync(params string[] hostNames)
    {
        ArgumentNullException.ThrowIfNull(hostNames);
        if (hostNames.Length is 0 or > 250 || hostNames.Distinct(StringComparer.Ordinal).Count() != hostNames.Length)
            throw new ArgumentException("1 to 250 distinct host names are needed", nameof(hostNames));
        var network = new NetworkHosts();
        try
        {
            await network.BuildAsync(hostNames);
            await network.CheckReachableAsync();
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    /// <summary>Takes <paramref name="host"/>'s switch port down: its packets go nowhere and nothing reaches it.</summary>
    public Task CutAsync(string host) => IpAsync("-n", SwitchNamespace, "link", "set", this[host].SwitchPort, "down");

    /// <summary>Brings <paramref name="host"/>'s switch port back up.</summary>
    public Task HealAsync(string host) => IpAsync("-n", SwitchNamespace, "link", "set", this[host].SwitchPort, "up");

    private async Task BuildAsync(string[] hostNames)
    {
        _subnet = ReserveSubnet();
        var prefix = string.Create(CultureInfo.InvariantCulture, $"10.{_subnet >> 8}.{_subnet & 0xff}");
        Network = prefix + ".0/24";
        TestSideAddress = IPAddress.Parse(prefix + ".1");
        await AddNamespaceAsync(SwitchNamespace);
        await IpAsync("-n", SwitchNamespace, "link", "add", "br0", "type", "bridge");
        await IpAsync("-n", SwitchNamespace, "link", "set", "br0", "up");
        // Per namespace since Linux 5.3; absent when br_netfilter is not loaded (then nothing filters bridged frames).
        if (File.Exists("/proc/sys/net/bridge/bridge-nf-call-iptables"))
        {
            foreach (var family in new[] { "iptables", "ip6tables", "arptables" })
                (await ProcessRunner.RunAsync("ip", ["netns", "exec", SwitchNamespace, "sysctl", "-q", "-w", $"net.bridge.bridge-nf-call-{family}=0"]))
                    .EnsureSuccess("sysctl in the switch namespace");
        }
        await IpAsync("link", "add", TestSideInterface, "type", "veth", "peer", "name", "test", "netns", SwitchNamespace);
        await AttachAsync("test");
        await IpAsync("addr", "add", TestSideAddress + "/24", "dev", TestSideInterface);
        await IpAsync("link", "set", TestSideInterface, "up");
        for (var i = 0; i < hostNames.Length; i++)
        {
            var host = new NetworkHost(hostNames[i], $"{_id}-{i + 2}", IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"{prefix}.{i + 2}")),
                string.Create(CultureInfo.InvariantCulture, $"p{i + 2}"));
            await AddNamespaceAsync(host.Namespace);
            await IpAsync("-n", SwitchNamespace, "link", "add", host.SwitchPort, "type", "veth", "peer", "name", "eth0", "netns", host.Namespace);
            await AttachAsync(host.SwitchPort);
            await IpAsync("-n", host.Namespace, "addr", "add", host.Address + "/24", "dev", "eth0");
            await IpAsync("-n", host.Namespace, "link", "set", "eth0", "up");
            _hosts[host.Name] = host;
        }
    }

    private async Task AddNamespaceAsync(string name)
    {
        await IpAsync("netns", "add", name);
        _namespaces.Add(name);
        await IpAsync("-n", name, "link", "set", "lo", "up");
    }

    private async Task AttachAsync(string port)
    {
        await IpAsync("-n", SwitchNamespace, "link", "set", port, "master", "br0");
        await IpAsync("-n", SwitchNamespace, "link", "set", port, "up");
    }

    /// <summary>Each host opens a TCP connection to a listener of the test process, so a network that drops traffic fails here, by name.</summary>
    private async Task CheckReachableAsync()
    {
        using var listener = new TcpListener(TestSideAddress, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        foreach (var host in _hosts.Values)
        {
            var connect = await ProcessRunner.RunAsync("ip",
                [.. host.CommandPrefix.Skip(1), "timeout", "10", "bash", "-c", $"exec 3<>/dev/tcp/{TestSideAddress}/{port}"]);
            if (connect.ExitCode != 0)
                throw new InvalidOperationException($"host {host.Name} ({host.Address}) cannot reach the test side {TestSideAddress}:{port}: {connect.StandardError.Trim()}");
            using var accepted = await listener.AcceptTcpClientAsync();
        }
    }

    /// <summary>A random 10.X.Y.0/24 that no route of the root namespace and no other instance of this process uses.</summary>
    private static int ReserveSubnet()
    {
        var routes = File.ReadAllLines("/proc/net/route").Skip(1).Select(line => line.Split('\t', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length > 7 && f[1] != "00000000")
            .Select(f => (Network: ReadHexAddress(f[1]), Mask: ReadHexAddress(f[7]))).ToList();
        lock (SubnetLock)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                var subnet = RandomNumberGenerator.GetInt32(64 << 8, 250 << 8);
                var network = 0x0A00_0000u | ((uint)subnet << 8);
                if (SubnetsInUse.Contains(subnet) || routes.Any(r => ((network ^ r.Network) & r.Mask & 0xFFFF_FF00u) == 0))
                    continue;
                SubnetsInUse.Add(subnet);
                return subnet;
            }
        }
        throw new InvalidOperationException("no free private /24 in 10.64.0.0-10.249.255.0");
    }

    /// <summary>An address of /proc/net/route: hex, in the kernel's (little-endian) byte order.</summary>
    private static uint ReadHexAddress(string hex) =>
        (uint)IPAddress.NetworkToHostOrder((int)uint.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture));

    private static async Task IpAsync(params string[] arguments) =>
        (await ProcessRunner.RunAsync("ip", arguments)).EnsureSuccess("ip " + string.Join(' ', arguments));

    public async ValueTask DisposeAsync()
    {
        // Deleting a namespace deletes its interfaces, and a veth goes with its peer; the kernel does that
        // asynchronously, so the root namespace's end is deleted here at once.
        foreach (var name in Enumerable.Reverse(_namespaces))
            await ProcessRunner.RunAsync("ip", ["netns", "delete", name]);
        _namespaces.Clear();
        if ((await ProcessRunner.RunAsync("ip", ["link", "show", TestSideInterface])).ExitCode == 0)
            await ProcessRunner.RunAsync("ip", ["link", "delete", TestSideInterface]);
        lock (SubnetLock)
            SubnetsInUse.Remove(_subnet);
    }
}
