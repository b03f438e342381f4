using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Layers;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Tests.Layers;

/// <summary>Builds layer tars in memory with TarWriter (PAX), compressed as asked.</summary>
internal static class TarBuilder
{
    public static readonly DateTimeOffset DefaultTime = new(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static byte[] Tar(params TarEntry[] entries)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
                writer.WriteEntry(entry);
        }
        return buffer.ToArray();
    }

    public static PaxTarEntry File(string name, string content, int mode = 0x1A4 /* 0644 */, int uid = 0, int gid = 0, DateTimeOffset? time = null, IEnumerable<KeyValuePair<string, string>>? pax = null) =>
        Entry(TarEntryType.RegularFile, name, mode, uid, gid, time, pax, data: Encoding.UTF8.GetBytes(content));

    public static PaxTarEntry Dir(string name, int mode = 0x1ED /* 0755 */, int uid = 0, int gid = 0, DateTimeOffset? time = null) =>
        Entry(TarEntryType.Directory, name, mode, uid, gid, time);

    public static PaxTarEntry Symlink(string name, string target, int uid = 0, int gid = 0, DateTimeOffset? time = null)
    {
        var entry = Entry(TarEntryType.SymbolicLink, name, 0x1FF, uid, gid, time);
        entry.LinkName = target;
        return entry;
    }

    public static PaxTarEntry HardLink(string name, string target)
    {
        var entry = Entry(TarEntryType.HardLink, name, 0x1A4, 0, 0, null);
        entry.LinkName = target;
        return entry;
    }

    public static PaxTarEntry Fifo(string name, int mode = 0x1A4) => Entry(TarEntryType.Fifo, name, mode, 0, 0, null);

    public static PaxTarEntry Device(TarEntryType type, string name, int major, int minor, int mode = 0x1B0 /* 0660 */)
    {
        var entry = Entry(type, name, mode, 0, 0, null);
        entry.DeviceMajor = major;
        entry.DeviceMinor = minor;
        return entry;
    }

    private static PaxTarEntry Entry(TarEntryType type, string name, int mode, int uid, int gid, DateTimeOffset? time, IEnumerable<KeyValuePair<string, string>>? pax = null, byte[]? data = null)
    {
        var entry = pax is null ? new PaxTarEntry(type, name) : new PaxTarEntry(type, name, pax);
        entry.Mode = (UnixFileMode)mode;
        entry.Uid = uid;
        entry.Gid = gid;
        entry.ModificationTime = time ?? DefaultTime;
        if (data is not null)
            entry.DataStream = new MemoryStream(data);
        return entry;
    }

    public static byte[] Gzip(byte[] data, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, level, leaveOpen: true))
            gzip.Write(data);
        return buffer.ToArray();
    }

    public static byte[] Zstd(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var zstd = new ZstdSharp.CompressionStream(buffer, 3, leaveOpen: true))
            zstd.Write(data);
        return buffer.ToArray();
    }

    public static byte[] Compress(byte[] tar, LayerCompression compression) => compression switch
    {
        LayerCompression.Gzip => Gzip(tar),
        LayerCompression.Zstd => Zstd(tar),
        _ => tar,
    };

    /// <summary>A layer from a tar: compressed as asked, with the right blob digest and diff_id.</summary>
    public static LayerSource Layer(byte[] tar, LayerCompression compression = LayerCompression.Gzip, Digest? diffId = null) =>
        Blob(Compress(tar, compression), compression, diffId ?? Digest.Sha256(tar));

    public static LayerSource Blob(byte[] blob, LayerCompression compression, Digest diffId) =>
        new(Digest.Sha256(blob), compression, diffId, _ => ValueTask.FromResult<Stream>(new MemoryStream(blob, writable: false)));

    public static LayerSource Layer(params TarEntry[] entries) => Layer(Tar(entries));
}
