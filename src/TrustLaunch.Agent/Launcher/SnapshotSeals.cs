using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Rootfs;

namespace TrustLaunch.Agent.Launcher;

/// <summary>A snapshot's tree digests and the metadata digest they were taken under (null: not sealable).</summary>
public sealed record SealedDigests(RootfsDigests Digests, Digest? Metadata);

/// <summary>
/// Spares a long-running launcher (the agent) re-reading a verified snapshot's files at every launch. Once a
/// snapshot's full tree digest matched its golden value, the SHA-256 of every entry's metadata (path, device, inode,
/// type and mode, owner, link count, size, ctime and mtime) is kept in this process's memory with the digest. A later
/// launch takes the metadata again: equal, the tree is the one that was digested, since any change through the
/// filesystem — contents, mode, owner, xattrs, a rename, a link, an entry added or removed — moves the ctime of the
/// entry or its directory, and ctime cannot be set from user space; different (or no seal: a new process), the whole
/// tree is digested again and sealed anew only if it still matches. Seals live in memory only, so forging one takes
/// writing into the agent. README "Snapshot seals" has the threat model.
/// </summary>
public sealed class SnapshotSeals
{
    private readonly ConcurrentDictionary<string, SealedDigests> _seals = new(StringComparer.Ordinal);

    /// <summary>
    /// The tree digests of <paramref name="rootfs"/>: the sealed ones when its metadata is unchanged, else computed
    /// afresh (with the metadata they may be sealed under, null when the tree changed while it was read).
    /// </summary>
    public SealedDigests Digest(string rootfs, CancellationToken cancellationToken) =>
        Digest(rootfs, () => Metadata(rootfs, cancellationToken), () => RootfsDigest.ComputeAll(rootfs, cancellationToken));

    /// <summary>
    /// The same for a tree sealed under <paramref name="key"/> whose metadata <paramref name="metadata"/> takes and
    /// which <paramref name="digest"/> reads whole (a containerd snapshot: its layers, mounted to be read).
    /// </summary>
    public SealedDigests Digest(string key, Func<Digest> metadata, Func<RootfsDigests> digest)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(digest);
        var before = metadata();
        if (_seals.TryGetValue(key, out var seal) && seal.Metadata == before)
            return seal;
        _seals.TryRemove(key, out _);
        var digests = digest();
        return new SealedDigests(digests, metadata() == before ? before : null);
    }

    /// <summary>Seals <paramref name="rootfs"/> (or a key) with <paramref name="digests"/>, which the caller found to match its golden value.</summary>
    public void Seal(string rootfs, SealedDigests digests)
    {
        if (digests.Metadata is not null)
            _seals[rootfs] = digests;
    }

    /// <summary>Forgets <paramref name="rootfs"/> (its snapshot was refused).</summary>
    public void Forget(string rootfs) => _seals.TryRemove(rootfs, out _);

    /// <summary>SHA-256 over one line per entry, in ordinal path order, of what any change to the entry moves.</summary>
    public static Digest Metadata(string rootfs, CancellationToken cancellationToken = default)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var line = new StringBuilder();
        Walk(rootfs, "", hash, line, cancellationToken);
        return TrustLaunch.Oci.Content.Digest.FromHash("sha256", hash.GetHashAndReset());
    }

    private static void Walk(string path, string relative, IncrementalHash hash, StringBuilder line, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Libc.StatxAt(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, out var s) != 0)
            throw new IOException($"cannot seal the snapshot: statx '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        line.Clear().Append(relative.Length == 0 ? "." : relative).Append('\0')
            .Append(s.DevMajor).Append(':').Append(s.DevMinor).Append(' ').Append(s.Ino).Append(' ')
            .Append(s.Mode).Append(' ').Append(s.Uid).Append(':').Append(s.Gid).Append(' ').Append(s.Nlink).Append(' ').Append(s.Size).Append(' ')
            .Append(s.CtimeSeconds).Append('.').Append(s.CtimeNanoseconds).Append(' ').Append(s.MtimeSeconds).Append('.').Append(s.MtimeNanoseconds).Append('\n');
        hash.AppendData(Encoding.UTF8.GetBytes(line.ToString()));
        if ((s.Mode & 0xF000) != 0x4000)
            return;
        foreach (var child in Directory.EnumerateFileSystemEntries(path).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal))
            Walk(System.IO.Path.Combine(path, child!), relative.Length == 0 ? child! : relative + "/" + child, hash, line, cancellationToken);
    }
}
