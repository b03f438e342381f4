using System.Globalization;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Bundles;

/// <summary>How to run the image, beyond what its config says.</summary>
public sealed record RuntimeBundleOptions
{
    /// <summary>Replaces the image's Cmd (like arguments after the image in <c>docker run</c>).</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>Replaces the image's Entrypoint (an empty list clears it).</summary>
    public IReadOnlyList<string>? Entrypoint { get; init; }

    /// <summary>Extra <c>NAME=value</c> entries, overriding image ones of the same name.</summary>
    public IReadOnlyList<string>? Env { get; init; }

    public string Hostname { get; init; } = "trustlaunch";

    /// <summary>Share the host's network namespace instead of creating a new one (loopback only); the host's /sys is
    /// then bound read-only (recursively), as a sysfs of its own would show the host's devices anyway.</summary>
    public bool HostNetwork { get; init; }

    /// <summary>Run without the default seccomp profile.</summary>
    public bool SeccompUnconfined { get; init; }

    /// <summary>The most processes and threads the container may have at once (its pids cgroup).</summary>
    public long PidsLimit { get; init; } = RuntimeBundle.DefaultPidsLimit;

    /// <summary>Mount the rootfs read-only.</summary>
    public bool ReadOnlyRootfs { get; init; }

    /// <summary>Host directories bound read-only (nosuid, noexec, nodev) into the container, e.g. the agent's workload
    /// gateway socket directory at <c>/run/trustlaunch</c>.</summary>
    public IReadOnlyList<BundleBind> ReadOnlyBinds { get; init; } = [];
}

/// <summary>A host directory <see cref="Source"/> bound at <see cref="Destination"/> in the container.</summary>
public sealed record BundleBind(string Source, string Destination);

/// <summary>The resolved identity the process runs as.</summary>
public sealed record ContainerUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids);

/// <summary>
/// Writes <c>DIR/config.json</c> (OCI runtime spec 1.0.2) for an unpacked <c>DIR/rootfs</c>, from the image config,
/// with what containerd and runc give a Kubernetes pod: containerd's default capabilities, its default seccomp
/// profile, no new privileges, RLIMIT_NOFILE 1024, its masked and read-only paths, /proc nosuid,noexec,nodev, a
/// read-only sysfs and cgroupfs, new pid/ipc/uts/mount/cgroup (and, unless host networking, network) namespaces,
/// and a pids limit.
/// </summary>
public static partial class RuntimeBundle
{
    public const string OciVersion = "1.0.2";
    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>
    /// Stops a fork bomb while leaving room for thread-hungry runtimes (a JVM or .NET server counts each thread):
    /// twice podman's 2048, since containerd itself sets none.
    /// </summary>
    public const long DefaultPidsLimit = 4096;

    /// <summary>containerd's default capability set (oci.defaultUnixCaps).</summary>
    public static IReadOnlyList<string> DefaultCapabilities { get; } =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    /// <summary>containerd's default masked paths (oci.populateDefaultUnixSpec).</summary>
    public static IReadOnlyList<string> MaskedPaths { get; } =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/scsi",
    ];

    /// <summary>containerd's default read-only paths.</summary>
    public static IReadOnlyList<string> ReadonlyPaths { get; } =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    /// <summary>Writes <c>config.json</c> into <paramref name="bundleDir"/> (temp file + rename) and returns the
    /// digest of its bytes (what <c>ContainerCreated</c> measures).</summary>
    public static Digest Write(string bundleDir, ImageConfig image, RuntimeBundleOptions? options = null)
    {
        var rootfs = Path.Combine(bundleDir, "rootfs");
        if (!Directory.Exists(rootfs))
            throw new DirectoryNotFoundException($"bundle '{bundleDir}' has no rootfs directory");
        var bytes = BuildConfig(rootfs, image, options ?? new RuntimeBundleOptions());
        var target = Path.Combine(bundleDir, "config.json");
        var temp = target + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, target, overwrite: true);
        return Digest.Sha256(bytes);
    }

    /// <summary>The <c>config.json</c> bytes; <paramref name="rootfsDir"/> is read for /etc/passwd and /etc/group.</summary>
    public static byte[] BuildConfig(string rootfsDir, ImageConfig image, RuntimeBundleOptions options)
    {
        var process = image.Config;
        var args = (options.Entrypoint ?? process?.Entrypoint ?? []).Concat(options.Command ?? process?.Cmd ?? []).ToList();
        if (args.Count == 0)
            throw new InvalidOperationException("the image has no Entrypoint or Cmd and no command was given");
        var user = ResolveUser(rootfsDir, process?.User);
        var env = MergeEnv(process?.Env, options.Env);
        var cwd = string.IsNullOrEmpty(process?.WorkingDir) ? "/" : process.WorkingDir;
        if (!cwd.StartsWith('/'))
            throw new InvalidOperationException($"image WorkingDir '{cwd}' is not absolute");

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("ociVersion", OciVersion);

            w.WriteStartObject("process");
            w.WriteBoolean("terminal", false);
            w.WriteStartObject("user");
            w.WriteNumber("uid", user.Uid);
            w.WriteNumber("gid", user.Gid);
            if (user.AdditionalGids.Count > 0)
            {
                w.WriteStartArray("additionalGids");
                foreach (var g in user.AdditionalGids)
                    w.WriteNumberValue(g);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            WriteStrings(w, "args", args);
            WriteStrings(w, "env", env);
            w.WriteString("cwd", cwd);
            w.WriteStartObject("capabilities");
            foreach (var set in new[] { "bounding", "effective", "permitted" })
                WriteStrings(w, set, DefaultCapabilities);
            w.WriteEndObject();
            w.WriteStartArray("rlimits");
            w.WriteStartObject();
            w.WriteString("type", "RLIMIT_NOFILE");
            w.WriteNumber("hard", 1024);
            w.WriteNumber("soft", 1024);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteBoolean("noNewPrivileges", true);
            w.WriteEndObject();

            w.WriteStartObject("root");
            w.WriteString("path", "rootfs");
            w.WriteBoolean("readonly", options.ReadOnlyRootfs);
            w.WriteEndObject();
            w.WriteString("hostname", options.Hostname);

            WriteMounts(w, options);
            WriteLinux(w, options);

            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>
    /// Resolves an image <c>User</c> (<c>uid</c>, <c>name</c>, <c>uid:gid</c>, <c>name:group</c>, empty = root)
    /// against the rootfs's /etc/passwd and /etc/group, read without leaving the rootfs. Additional gids are the
    /// groups that list the user by name. Numeric ids need no passwd entry (the gid then defaults to the passwd
    /// entry's, else 0).
    /// </summary>
    public static ContainerUser ResolveUser(string rootfsDir, string? user)
    {
        var spec = string.IsNullOrEmpty(user) ? "0" : user;
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var userPart = colon < 0 ? spec : spec[..colon];
        var groupPart = colon < 0 ? null : spec[(colon + 1)..];
        var passwd = ParseColonFile(RootfsPath.ReadSmallTextFile(rootfsDir, "/etc/passwd"));
        var groups = ParseColonFile(RootfsPath.ReadSmallTextFile(rootfsDir, "/etc/group"));

        string[]? entry;
        uint uid;
        if (TryId(userPart, out uid))
            entry = passwd.FirstOrDefault(p => p.Length >= 4 && p[2] == userPart);
        else
        {
            entry = passwd.FirstOrDefault(p => p.Length >= 4 && p[0] == userPart)
                ?? throw new InvalidOperationException($"user '{userPart}' not found in the image's /etc/passwd");
            if (!TryId(entry[2], out uid))
                throw new InvalidOperationException($"user '{userPart}' has a malformed uid '{entry[2]}' in the image's /etc/passwd");
        }

        uint gid = 0;
        if (groupPart is { Length: > 0 })
        {
            if (!TryId(groupPart, out gid))
            {
                var g = groups.FirstOrDefault(g => g.Length >= 3 && g[0] == groupPart)
                    ?? throw new InvalidOperationException($"group '{groupPart}' not found in the image's /etc/group");
                if (!TryId(g[2], out gid))
                    throw new InvalidOperationException($"group '{groupPart}' has a malformed gid '{g[2]}' in the image's /etc/group");
            }
        }
        else if (entry is not null && !TryId(entry[3], out gid))
            throw new InvalidOperationException($"user '{userPart}' has a malformed gid '{entry[3]}' in the image's /etc/passwd");

        // Like containerd: the primary gid first, then every group that lists the user by name.
        var additional = new List<uint> { gid };
        if (entry is not null)
        {
            foreach (var g in groups)
            {
                if (g.Length >= 4 && g[3].Split(',').Contains(entry[0], StringComparer.Ordinal) && TryId(g[2], out var id) && !additional.Contains(id))
                    additional.Add(id);
            }
        }
        return new ContainerUser(uid, gid, additional);
    }

    private static bool TryId(string text, out uint id) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id != uint.MaxValue;

    private static List<string[]> ParseColonFile(string? text) =>
        text is null ? [] : text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.TrimEnd('\r').Split(':')).ToList();

    private static List<string> MergeEnv(IReadOnlyList<string>? image, IReadOnlyList<string>? extra)
    {
        var result = new List<string>();
        foreach (var e in (image ?? []).Concat(extra ?? []))
        {
            var name = e.Split('=', 2)[0];
            result.RemoveAll(x => x.Split('=', 2)[0] == name);
            result.Add(e);
        }
        if (!result.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)))
            result.Insert(0, DefaultPath);
        return result;
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
            w.WriteStringValue(v);
        w.WriteEndArray();
    }
}
