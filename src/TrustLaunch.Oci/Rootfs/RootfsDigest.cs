using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Layers;

namespace TrustLaunch.Oci.Rootfs;

/// <summary>
/// A deterministic digest of an unpacked root filesystem, independent of tar order and mtimes. Golden values pin
/// it, so this format is public and versioned; changing anything below needs a new version header. Version 2 (what
/// <see cref="Compute"/> gives and new golden values hold) adds the extended attributes the unpacker applies, so a
/// file capability or <c>user.*</c> attribute added after the pull changes it; version 1 golden values still verify
/// (<see cref="ComputeAll"/>: the header makes the two formats' digests of one tree unrelated).
/// </summary>
/// <remarks>
/// <para>The digest is SHA-256 over ASCII lines, each ending with one LF (0x0A):</para>
/// <code>
/// trustlaunch-rootfs-v2
/// PATH TYPE MODE UID GID DATA XATTRS
/// …
/// </code>
/// <para>One line per filesystem object, the root directory included, never following symbolic links; fields are
/// separated by one space (0x20):</para>
/// <list type="bullet">
/// <item><b>PATH</b>: relative to the root, components joined by <c>/</c>, no leading <c>./</c>; the root itself is
/// <c>.</c>. Lines are sorted by the UTF-8 bytes of PATH, ordinal (so <c>a-b</c> sorts before <c>a/b</c>).</item>
/// <item><b>TYPE</b>: <c>d</c> directory, <c>f</c> regular file, <c>l</c> symbolic link, <c>c</c> character device,
/// <c>b</c> block device, <c>p</c> FIFO, <c>s</c> socket.</item>
/// <item><b>MODE</b>: <c>st_mode &amp; 07777</c> (permissions, setuid, setgid, sticky) as 4 octal digits, e.g.
/// <c>0755</c>, <c>4755</c>; symbolic links are <c>0777</c> on Linux.</item>
/// <item><b>UID</b>, <b>GID</b>: decimal.</item>
/// <item><b>DATA</b>: <c>f</c>: <c>sha256:</c> and the lowercase hex SHA-256 of the content (hard links hash like
/// any file); <c>l</c>: the link target as stored; <c>c</c>/<c>b</c>: <c>MAJOR:MINOR</c> in decimal;
/// <c>d</c>/<c>p</c>/<c>s</c>: <c>-</c>.</item>
/// </list>
/// <para>PATH and a link target are escaped: every UTF-8 byte below 0x21, above 0x7E, or equal to <c>%</c> is
/// written as <c>%</c> and two uppercase hex digits, so a field never contains a space or a line break.</para>
/// <para><b>XATTRS</b> (version 2 only): <c>-</c> when the object has none, else its <c>user.*</c> and
/// <c>security.capability</c> attributes (the ones the unpacker applies; others a host adds, such as
/// <c>security.selinux</c>, are not part of the image) as <c>NAME=HEX</c> joined by <c>,</c>, sorted by the UTF-8
/// bytes of NAME, NAME escaped like PATH and HEX the lowercase hex of the value.</para>
/// <para>Example: <c>bin/sh l 0777 0 0 busybox -</c>,
/// <c>bin/ping f 0755 0 0 sha256:e3b0… security.capability=0100000200200000…</c>.</para>
/// </remarks>
public static class RootfsDigest
{
    public const int Version1 = 1;
    public const int Version2 = 2;
    public const int CurrentVersion = Version2;

    public const string FormatHeader = "trustlaunch-rootfs-v2";
    public const string FormatHeaderV1 = "trustlaunch-rootfs-v1";

    private const int BufferSize = 1 << 17;

    /// <summary>The current (version 2) digest: the SHA-256 of <see cref="CanonicalLines"/>, each followed by LF.</summary>
    public static Digest Compute(string rootDirectory, CancellationToken cancellationToken = default) =>
        ComputeAll(rootDirectory, cancellationToken).Current;

    /// <summary>The digests of every version, in one walk of the tree (files are read once).</summary>
    public static RootfsDigests ComputeAll(string rootDirectory, CancellationToken cancellationToken = default)
    {
        using var v1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var v2 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        v1.AppendData(Encoding.ASCII.GetBytes(FormatHeaderV1 + "\n"));
        v2.AppendData(Encoding.ASCII.GetBytes(FormatHeader + "\n"));
        foreach (var (line, xattrs) in Entries(rootDirectory, cancellationToken))
        {
            var bytes = Encoding.ASCII.GetBytes(line);
            v1.AppendData(bytes);
            v1.AppendData("\n"u8);
            v2.AppendData(bytes);
            v2.AppendData(" "u8);
            v2.AppendData(Encoding.ASCII.GetBytes(xattrs));
            v2.AppendData("\n"u8);
        }
        return new RootfsDigests(Digest.FromHash("sha256", v2.GetHashAndReset()), Digest.FromHash("sha256", v1.GetHashAndReset()));
    }

    /// <summary>The canonical lines of <paramref name="version"/> (header first, no line terminators), for diagnostics and comparisons.</summary>
    public static IEnumerable<string> CanonicalLines(string rootDirectory, int version = CurrentVersion, CancellationToken cancellationToken = default)
    {
        if (version is not (Version1 or Version2))
            throw new ArgumentOutOfRangeException(nameof(version), version, "rootfs digest versions are 1 and 2");
        var lines = Entries(rootDirectory, cancellationToken).Select(e => version == Version1 ? e.Line : e.Line + " " + e.Xattrs);
        return lines.Prepend(version == Version1 ? FormatHeaderV1 : FormatHeader);
    }

    /// <summary>Each object's line without its version-2 field, and that field.</summary>
    private static IEnumerable<(string Line, string Xattrs)> Entries(string rootDirectory, CancellationToken cancellationToken)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootDirectory));
        if (!Posix.TryLstat(root, out var rootStatus) || !rootStatus.IsDirectory)
            throw new DirectoryNotFoundException($"the root filesystem '{root}' is not a directory");
        var paths = new List<(byte[] Key, string Relative)>();
        Collect(root, "", paths, cancellationToken);
        paths.Sort((a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
        return Lines(root, paths, cancellationToken);
    }

    private static IEnumerable<(string Line, string Xattrs)> Lines(string root, List<(byte[] Key, string Relative)> paths, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        foreach (var (_, relative) in paths)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var host = relative.Length == 0 ? root : root + "/" + relative;
            if (!Posix.TryLstat(host, out var status))
                throw new IOException($"'{host}' disappeared while the root filesystem digest was computed");
            yield return (Line(relative.Length == 0 ? "." : relative, host, status, buffer), ImageXattrs.Field(host));
        }
    }

    private static string Line(string relative, string host, Posix.FileStatus status, byte[] buffer)
    {
        var (type, data) = status.Type switch
        {
            Posix.TypeDirectory => ('d', "-"),
            Posix.TypeRegular => ('f', HashFile(host, buffer)),
            Posix.TypeSymlink => ('l', Escape(new FileInfo(host).LinkTarget ?? throw new IOException($"cannot read the symbolic link '{host}'"))),
            Posix.TypeChar => ('c', string.Create(CultureInfo.InvariantCulture, $"{status.RdevMajor}:{status.RdevMinor}")),
            Posix.TypeBlock => ('b', string.Create(CultureInfo.InvariantCulture, $"{status.RdevMajor}:{status.RdevMinor}")),
            Posix.TypeFifo => ('p', "-"),
            Posix.TypeSocket => ('s', "-"),
            _ => throw new IOException($"'{host}' has an unknown file type {status.Type:X}"),
        };
        var mode = Convert.ToString(status.Mode & 0xFFF, 8).PadLeft(4, '0');
        return string.Create(CultureInfo.InvariantCulture, $"{Escape(relative)} {type} {mode} {status.Uid} {status.Gid} {data}");
    }

    private static string HashFile(string host, byte[] buffer)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var file = new FileStream(host, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
        int n;
        while ((n = file.Read(buffer)) > 0)
            hash.AppendData(buffer.AsSpan(0, n));
        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Collect(string host, string relative, List<(byte[] Key, string Relative)> paths, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        paths.Add((Encoding.UTF8.GetBytes(relative), relative));
        foreach (var child in Directory.EnumerateFileSystemEntries(host, "*", LayerUnpacker.AllEntries))
        {
            var name = Path.GetFileName(child);
            var childRelative = relative.Length == 0 ? name : relative + "/" + name;
            if (Posix.TryLstat(child, out var status) && status.IsDirectory)
                Collect(child, childRelative, paths, cancellationToken);
            else
                paths.Add((Encoding.UTF8.GetBytes(childRelative), childRelative));
        }
    }

    /// <summary>Percent-escapes bytes outside 0x21–0x7E and '%' itself.</summary>
    internal static string Escape(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var builder = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is > 0x20 and < 0x7F and not (byte)'%')
                builder.Append((char)b);
            else
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }
}
