using TrustLaunch.Agent.Runtime;
using TrustLaunch.Oci.Bundles;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Agent.Tests.Runtime;

/// <summary>OCI bundles of a busybox-static rootfs (busybox and the applets the tests call), run through <see cref="OciRuntime"/>.</summary>
internal static class BusyboxBundle
{
    private static readonly string[] Applets = ["sh", "sleep", "true", "cat", "ls", "mkdir", "mount", "unshare", "nc", "grep", "touch", "echo", "id", "wc"];

    /// <summary>A bundle under <paramref name="directory"/> running <c>sh -c SCRIPT</c>; <paramref name="files"/> go into the rootfs.</summary>
    public static string Create(string directory, string script, RuntimeBundleOptions? options = null, IReadOnlyDictionary<string, string>? files = null)
    {
        var bundle = Path.Combine(directory, "bundle-" + Guid.NewGuid().ToString("N")[..8]);
        var bin = Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "bin")).FullName;
        File.Copy("/bin/busybox", Path.Combine(bin, "busybox"));
        foreach (var applet in Applets)
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "mnt"));
        foreach (var (path, source) in files ?? new Dictionary<string, string>())
            File.Copy(source, Path.Combine(bundle, "rootfs", path.TrimStart('/')));
        var image = new ImageConfig { RootFs = new ImageRootFs { DiffIds = [] } };
        RuntimeBundle.Write(bundle, image, (options ?? new RuntimeBundleOptions()) with { Command = ["/bin/sh", "-c", script] });
        return bundle;
    }

    /// <summary>Creates, starts and reaps container <paramref name="id"/> (the caller is a child subreaper); its exit status and output.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(OciRuntime runtime, string id, string bundle)
    {
        var log = Path.Combine(Path.GetDirectoryName(bundle)!, id + ".log");
        var pid = await runtime.CreateAsync(id, bundle, log);
        var exited = ChildReaper.WaitAsync(pid);
        await runtime.StartAsync(id);
        var exit = await exited.WaitAsync(TimeSpan.FromSeconds(60));
        await runtime.DeleteAsync(id, force: true);
        return (exit, await File.ReadAllTextAsync(log));
    }
}
