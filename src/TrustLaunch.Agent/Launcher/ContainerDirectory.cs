using System.Runtime.InteropServices;
using System.Text.Json;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// One container's files under <c>DATA/containers/NAME/</c> (mode 0700): <c>container.json</c> (its record),
/// <c>bundle/</c> (OCI runtime bundle), <c>stdio.log</c> and <c>stdio.log.1</c> (the container's stdout and stderr,
/// rotated; written through the FIFO <c>stdio.pipe</c>), <c>created</c> and <c>stopped</c> (written once
/// <c>ContainerCreated</c>, <c>ContainerStopped</c> are measured), <c>exit.json</c> (written when the
/// container ends), <c>monitor.log</c> (the monitor's own messages) and <c>monitor.lock</c> (flocked by the monitor
/// for as long as it runs, so <c>rm</c> can wait for its last measurement and a dead monitor can be told from a live one),
/// <c>secrets/</c> (a tmpfs mount point, when the container was given sealed secrets).
/// </summary>
public sealed partial class ContainerDirectory
{
    private ContainerDirectory(string path, string name)
    {
        Path = path;
        Name = name;
    }

    public string Path { get; }
    public string Name { get; }
    public string RecordFile => System.IO.Path.Combine(Path, "container.json");
    public string Bundle => System.IO.Path.Combine(Path, "bundle");
    public string StdioLog => System.IO.Path.Combine(Path, "stdio.log");
    public string StdioPipe => System.IO.Path.Combine(Path, "stdio.pipe");
    public string CreatedMarker => System.IO.Path.Combine(Path, "created");
    public string StoppedMarker => System.IO.Path.Combine(Path, "stopped");
    public string ExitFile => System.IO.Path.Combine(Path, "exit.json");
    public string MonitorLog => System.IO.Path.Combine(Path, "monitor.log");
    public string MonitorLock => System.IO.Path.Combine(Path, "monitor.lock");

    /// <summary>The tmpfs of the container's sealed secrets (<see cref="ContainerSecrets"/>), when it was given any.</summary>
    public string Secrets => System.IO.Path.Combine(Path, "secrets");

    public static string ContainersRoot(string dataDir) => System.IO.Path.Combine(dataDir, "containers");

    /// <summary>Claims the name: the directory is created atomically, so two launches can't take the same name.</summary>
    public static ContainerDirectory Create(string dataDir, string name)
    {
        OciRuntime.ValidateId(name);
        var root = PrivateDirectory.Ensure(ContainersRoot(dataDir));
        var path = System.IO.Path.Combine(root, name);
        if (!TryMakeDirectory(path))
        {
            throw new LauncherException($"container name '{name}' is already in use (trustlaunch rm {name} frees it)");
        }
        return new ContainerDirectory(path, name);
    }

    public static ContainerDirectory Open(string dataDir, string name)
    {
        OciRuntime.ValidateId(name);
        var path = System.IO.Path.Combine(ContainersRoot(dataDir), name);
        return Directory.Exists(path) ? new ContainerDirectory(path, name) : throw new LauncherException($"no container named '{name}'");
    }

    public static IReadOnlyList<ContainerDirectory> List(string dataDir)
    {
        var root = ContainersRoot(dataDir);
        return Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(p => new ContainerDirectory(p, System.IO.Path.GetFileName(p))).OrderBy(d => d.Name, StringComparer.Ordinal).ToList()
            : [];
    }

    public ContainerRecord? ReadRecord() => ReadJson(RecordFile, LauncherJsonContext.Default.ContainerRecord);

    public void WriteRecord(ContainerRecord record) => WriteJson(RecordFile, JsonSerializer.SerializeToUtf8Bytes(record, LauncherJsonContext.Default.ContainerRecord));

    public ContainerExit? ReadExit() => ReadJson(ExitFile, LauncherJsonContext.Default.ContainerExit);

    public void WriteExit(ContainerExit exit) => WriteJson(ExitFile, JsonSerializer.SerializeToUtf8Bytes(exit, LauncherJsonContext.Default.ContainerExit));

    /// <summary>Whether <c>ContainerCreated</c> was measured: only then do its stop and deletion belong in the log.</summary>
    public bool WasCreated => File.Exists(CreatedMarker);

    public void MarkCreated() => WriteJson(CreatedMarker, []);

    /// <summary>Whether <c>ContainerStopped</c> was measured.</summary>
    public bool StopMeasured => File.Exists(StoppedMarker);

    public void MarkStopMeasured() => WriteJson(StoppedMarker, []);

    /// <summary>The data directory the container is in (<c>DATA/containers/NAME</c>).</summary>
    public string DataDir => System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(Path))!;

    /// <summary>Removes the container's files (and its upper layer on memory-backed storage, if it has one), after
    /// detaching its root filesystem and its secrets' tmpfs.</summary>
    public void Discard()
    {
        OverlayRootfs.Unmount(System.IO.Path.Combine(Bundle, "rootfs"));
        OverlayRootfs.Unmount(Secrets);
        var memory = Snapshots.MemoryContainer(DataDir, Name);
        if (Directory.Exists(memory))
            Directory.Delete(memory, recursive: true);
        Directory.Delete(Path, recursive: true);
    }

    public void AppendMonitorLog(string message) =>
        File.AppendAllText(MonitorLog, $"{DateTimeOffset.UtcNow:O} {message}\n");

    private static T? ReadJson<T>(string file, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class =>
        File.Exists(file) ? JsonSerializer.Deserialize(File.ReadAllBytes(file), type) : null;

    /// <summary>Temp file, fsync, rename: a reader sees the old file or the whole new one.</summary>
    private static void WriteJson(string file, byte[] bytes)
    {
        var temp = $"{file}.tmp-{Environment.ProcessId}";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, file, overwrite: true);
    }

    /// <summary>mkdir(2): unlike Directory.CreateDirectory it fails when the directory already exists.</summary>
    private static bool TryMakeDirectory(string path)
    {
        if (Libc.Mkdir(path, (uint)PrivateDirectory.Mode) == 0)
        {
            PrivateDirectory.Ensure(path); // the umask may have taken bits from it
            return true;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == Libc.EEXIST ? false : throw new IOException($"cannot create container directory '{path}': errno {errno}");
    }

    /// <summary>(Re)creates <see cref="StdioPipe"/>, a FIFO only we may open.</summary>
    public void CreateStdioPipe()
    {
        File.Delete(StdioPipe);
        if (Libc.Mkfifo(StdioPipe, 0b110_000_000) != 0)
            throw new IOException($"cannot create the output pipe '{StdioPipe}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }
}
