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

    /// <summary>Share the host's network namespace instead of creating a new (empty) one.</summary>
    public bool HostNetwork { get; init; }

    /// <summary>Mount the rootfs read-only.</summary>
    public bool ReadOnlyRootfs { get; init; }
}

/// <summary>The resolved identity the process runs as.</summary>
public sealed record ContainerUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids);

/// <summary>
/// Writes <c>DIR/config.json</c> (OCI runtime spec 1.0.2) for an unpacked <c>DIR/rootfs</c>, from the image config,
/// with the defaults containerd and runc use: containerd's default capabilities, no new privileges, RLIMIT_NOFILE
/// 1024, runc's masked and read-only paths, new pid/ipc/uts/mount (and, unless host networking, network) namespaces.
/// </summary>
public static class RuntimeBundle
{
    public const string OciVersion = "1.0.2";
    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>containerd's default capability set (oci.defaultUnixCaps).</summary>
    public static IReadOnlyList<string> DefaultCapabilities { get; } =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    public static IReadOnlyList<string> MaskedPaths { get; } =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    ];

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

            w.WriteStartArray("mounts");
            Mount(w, "/proc", "proc", "proc", []);
            Mount(w, "/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]);
            Mount(w, "/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]);
            Mount(w, "/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
            Mount(w, "/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]);
            if (options.HostNetwork)
                Mount(w, "/sys", "none", "/sys", ["rbind", "nosuid", "noexec", "nodev", "ro"]);
            else
                Mount(w, "/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]);
            w.WriteEndArray();

            w.WriteStartObject("linux");
            w.WriteStartArray("namespaces");
            foreach (var ns in new[] { "pid", "ipc", "uts", "mount" }.Concat(options.HostNetwork ? [] : ["network"]))
            {
                w.WriteStartObject();
                w.WriteString("type", ns);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("resources");
            w.WriteStartArray("devices");
            w.WriteStartObject();
            w.WriteBoolean("allow", false);
            w.WriteString("access", "rwm");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            WriteStrings(w, "maskedPaths", MaskedPaths);
            WriteStrings(w, "readonlyPaths", ReadonlyPaths);
            w.WriteEndObject();

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

    private static void Mount(Utf8JsonWriter w, string destination, string type, string source, IReadOnlyList<string> options)
    {
        w.WriteStartObject();
        w.WriteString("destination", destination);
        w.WriteString("type", type);
        w.WriteString("source", source);
        if (options.Count > 0)
            WriteStrings(w, "options", options);
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
            w.WriteStringValue(v);
        w.WriteEndArray();
    }
}
