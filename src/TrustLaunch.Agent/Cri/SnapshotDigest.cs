using System.Runtime.InteropServices;
using TrustLaunch.Agent.Cri.Containerd;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Rootfs;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// The rootfs digest of a container's snapshot as containerd will mount it: its mounts from containerd's snapshot
/// service, the layers (container layer first) stacked read-only at a private mount point and digested, so a layer
/// changed on disk after the pull shows as a different tree.
/// </summary>
internal static class SnapshotDigest
{
    private const ulong MountReadOnly = 1;

    public static async Task<RootfsDigests> ComputeAsync(ContainerdConnection containerd, string snapshotter, string key, CancellationToken cancellationToken)
    {
        var response = await containerd.Snapshots.MountsAsync(new MountsRequest { Snapshotter = snapshotter, Key = key },
            ContainerdConnection.InCriNamespace(), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.Mounts.Count != 1)
            throw new InvalidDataException($"snapshot {key} ({snapshotter}) has {response.Mounts.Count} mounts, expected one");
        var mount = response.Mounts[0];
        return mount.Type switch
        {
            "bind" or "rbind" => RootfsDigest.ComputeAll(mount.Source, cancellationToken),
            "overlay" => ComputeOverlay(key, mount, cancellationToken),
            _ => throw new NotSupportedException($"snapshot {key} is a '{mount.Type}' mount; the CRI endpoint checks overlay and bind snapshots"),
        };
    }

    private static RootfsDigests ComputeOverlay(string key, Mount mount, CancellationToken cancellationToken)
    {
        var options = mount.Options.Select(o => o.Split('=', 2)).Where(o => o.Length == 2).ToDictionary(o => o[0], o => o[1], StringComparer.Ordinal);
        if (!options.TryGetValue("lowerdir", out var lower))
            throw new InvalidDataException($"overlay snapshot {key} has no lowerdir");
        // The container's own layer (empty before it starts) is part of what it will see: it goes on top, read-only.
        var layers = options.TryGetValue("upperdir", out var upper) ? $"{upper}:{lower}" : lower;
        if (layers.AsSpan().IndexOfAny(",\\") >= 0)
            throw new IOException($"overlay snapshot {key}: a layer path contains ',' or '\\'");
        // Created 0700 on Unix.
        var target = Directory.CreateTempSubdirectory("trustlaunch-cri-snapshot-").FullName;
        try
        {
            if (Libc.Mount("overlay", target, "overlay", MountReadOnly, $"lowerdir={layers}") != 0)
                throw new IOException($"cannot mount snapshot {key} read-only to digest it: overlay mount failed (errno {Marshal.GetLastPInvokeError()})");
            try
            {
                return RootfsDigest.ComputeAll(target, cancellationToken);
            }
            finally
            {
                if (Libc.Umount2(target, Libc.MNT_DETACH) != 0)
                    throw new IOException($"cannot unmount snapshot {key} from {target}: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            Directory.Delete(target);
        }
    }
}
