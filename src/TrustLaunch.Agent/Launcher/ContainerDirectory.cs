using System.Runtime.InteropServices;
using System.Text.Json;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Measurement.Native;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// One container's files under <c>DATA/containers/NAME/</c>: <c>container.json</c> (its record), <c>bundle/</c> (OCI
/// runtime bundle), <c>stdio.log</c> (the container's stdout and stderr), <c>exit.json</c> (written by the monitor
/// when the container ends), <c>monitor.log</c> (the monitor's own messages) and <c>monitor.lock</c> (flocked by the
/// monitor for as long as it runs, so <c>rm</c> can wait for its last measurement).
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
    public string ExitFile => System.IO.Path.Combine(Path, "exit.json");
    public string MonitorLog => System.IO.Path.Combine(Path, "monitor.log");
    public string MonitorLock => System.IO.Path.Combine(Path, "monitor.lock");

    public static string ContainersRoot(string dataDir) => System.IO.Path.Combine(dataDir, "containers");

    /// <summary>Claims the name: the directory is created atomically, so two launches can't take the same name.</summary>
    public static ContainerDirectory Create(string dataDir, string name)
    {
        OciRuntime.ValidateId(name);
        var root = Directory.CreateDirectory(ContainersRoot(dataDir)).FullName;
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
        if (Libc.Mkdir(path, 0b111_101_101) == 0)
        {
            return true;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == Libc.EEXIST ? false : throw new IOException($"cannot create container directory '{path}': errno {errno}");
    }
}
