using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Agent.Cri.Containerd;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Rootfs;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// The rootfs digest of a container's snapshot as containerd will mount it: its mounts from containerd's snapshot
/// service, the layers (container layer first) stacked read-only at a private mount point and digested, so a layer
/// changed on disk after the pull shows as a different tree. Sealed (<see cref="SnapshotSeals"/>) by the metadata of
/// the image's layers, which its containers share: a later container of the same image whose layers' metadata is
/// unchanged, and whose own layer is still empty, without extended attributes and of the same mode and owner (so adds
/// nothing to the tree), takes the sealed digest instead of reading every file again.
/// </summary>
internal static class SnapshotDigest
{
    private const ulong MountReadOnly = 1;

    /// <summary>The digests, and the key to seal them under once they matched the golden value (or to forget when not).</summary>
    public static async Task<(string SealKey, SealedDigests Digests)> ComputeAsync(ContainerdConnection containerd, SnapshotSeals seals, string snapshotter, string key,
        CancellationToken cancellationToken)
    {
        var response = await containerd.Snapshots.MountsAsync(new MountsRequest { Snapshotter = snapshotter, Key = key },
            ContainerdConnection.InCriNamespace(), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.Mounts.Count != 1)
            throw new InvalidDataException($"snapshot {key} ({snapshotter}) has {response.Mounts.Count} mounts, expected one");
        var mount = response.Mounts[0];
        return mount.Type switch
        {
            "bind" or "rbind" => (mount.Source, seals.Digest(mount.Source, cancellationToken)),
            "overlay" => Overlay(key, mount, seals, cancellationToken),
            _ => throw new NotSupportedException($"snapshot {key} is a '{mount.Type}' mount; the CRI endpoint checks overlay and bind snapshots"),
        };
    }

    private static (string SealKey, SealedDigests Digests) Overlay(string key, Mount mount, SnapshotSeals seals, CancellationToken cancellationToken)
    {
        var options = mount.Options.Select(o => o.Split('=', 2)).Where(o => o.Length == 2).ToDictionary(o => o[0], o => o[1], StringComparer.Ordinal);
        if (!options.TryGetValue("lowerdir", out var lower))
            throw new InvalidDataException($"overlay snapshot {key} has no lowerdir");
        // The container's own layer (empty before it starts) is part of what it will see: it goes on top, read-only.
        var upper = options.GetValueOrDefault("upperdir");
        var layers = upper is null ? lower : $"{upper}:{lower}";
        if (layers.AsSpan().IndexOfAny(",\\") >= 0)
            throw new IOException($"overlay snapshot {key}: a layer path contains ',' or '\\'");
        var sealKey = "overlay:" + lower;
        return (sealKey, seals.Digest(sealKey, () => Metadata(lower.Split(':'), upper, cancellationToken), () => Mounted(key, layers, cancellationToken)));
    }

    /// <summary>
    /// The image layers' metadata, and of the container's layer only its mode and owner while it is empty and has no
    /// extended attributes (an opaque directory would hide the layers below); otherwise all of its own metadata,
    /// inode and ctime included, which no other container's layer shares.
    /// </summary>
    private static Digest Metadata(IReadOnlyList<string> lowers, string? upper, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        foreach (var layer in lowers)
            text.Append("lower ").Append(SnapshotSeals.Metadata(layer, cancellationToken)).Append('\n');
        if (upper is not null)
        {
            if (Libc.StatxAt(Libc.AT_FDCWD, upper, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, out var s) != 0)
                throw new IOException($"statx '{upper}': {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
            var neutral = !Directory.EnumerateFileSystemEntries(upper).Any() && !Libc.HasXattrs(upper);
            text.Append(neutral ? $"upper {s.Mode} {s.Uid}:{s.Gid}" : $"upper {SnapshotSeals.Metadata(upper, cancellationToken)}").Append('\n');
        }
        return Digest.FromHash("sha256", SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static RootfsDigests Mounted(string key, string layers, CancellationToken cancellationToken)
    {
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
