using System.Text.Json;

namespace TrustLaunch.Oci.Bundles;

/// <summary>The isolation part of <c>config.json</c>: mounts, namespaces, resources, masked paths and seccomp.</summary>
public static partial class RuntimeBundle
{
    private static void WriteMounts(Utf8JsonWriter w, RuntimeBundleOptions options)
    {
        w.WriteStartArray("mounts");
        Mount(w, "/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]);
        Mount(w, "/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]);
        Mount(w, "/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]);
        Mount(w, "/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
        Mount(w, "/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]);
        // A sysfs shows the network devices of the namespace that mounts it: the host's /sys then, bound read-only
        // all the way down ("rro", so its own submounts such as the host's cgroup hierarchies are read-only too).
        if (options.HostNetwork)
            Mount(w, "/sys", "none", "/sys", ["rbind", "rro", "nosuid", "noexec", "nodev"]);
        else
            Mount(w, "/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]);
        // In the container's cgroup namespace: its own cgroups only, read-only.
        Mount(w, "/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]);
        foreach (var bind in options.ReadOnlyBinds)
            Mount(w, bind.Destination, "bind", bind.Source, ["bind", "ro", "nosuid", "noexec", "nodev"]);
        w.WriteEndArray();
    }

    private static void WriteLinux(Utf8JsonWriter w, RuntimeBundleOptions options)
    {
        if (options.PidsLimit <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.PidsLimit, "the pids limit must be a positive number of processes");
        w.WriteStartObject("linux");
        w.WriteStartArray("namespaces");
        foreach (var ns in options.HostNetwork ? ["pid", "ipc", "uts", "mount", "cgroup"] : new[] { "pid", "ipc", "uts", "mount", "network", "cgroup" })
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
        w.WriteStartObject("pids");
        w.WriteNumber("limit", options.PidsLimit);
        w.WriteEndObject();
        w.WriteEndObject();
        WriteStrings(w, "maskedPaths", MaskedPaths);
        WriteStrings(w, "readonlyPaths", ReadonlyPaths);
        if (!options.SeccompUnconfined)
            SeccompProfile.Write(w, [.. DefaultCapabilities], SeccompProfile.HostArchitecture, SeccompProfile.HostKernel);
        w.WriteEndObject();
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
}
