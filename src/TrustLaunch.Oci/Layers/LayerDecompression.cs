using System.IO.Compression;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using ZstdSharp;

namespace TrustLaunch.Oci.Layers;

/// <summary>Opens the uncompressed tar stream of a layer, checking the magic bytes and the expansion limits.</summary>
public static class LayerDecompression
{
    private const int SniffLength = 4;

    /// <summary>
    /// Wraps <paramref name="compressed"/> (which it takes ownership of) in a decompressor for
    /// <paramref name="compression"/>. Reading the result throws <see cref="LayerLimitException"/> past the limits.
    /// </summary>
    /// <exception cref="LayerUnpackException">the data's magic bytes contradict <paramref name="compression"/>.</exception>
    public static Stream Open(Stream compressed, LayerCompression compression, Digest layer, LayerLimits? limits = null)
    {
        var prefix = new byte[SniffLength];
        var length = 0;
        while (length < prefix.Length && compressed.Read(prefix, length, prefix.Length - length) is var n and > 0)
            length += n;
        Array.Resize(ref prefix, length);
        return Wrap(new PrefixedStream(prefix, compressed), prefix, compression, layer, limits ?? LayerLimits.Default);
    }

    /// <summary>Async flavour of <see cref="Open"/> (the magic bytes are read asynchronously).</summary>
    public static async ValueTask<Stream> OpenAsync(Stream compressed, LayerCompression compression, Digest layer, LayerLimits? limits = null, CancellationToken cancellationToken = default)
    {
        var prefix = await ReadPrefixAsync(compressed, cancellationToken).ConfigureAwait(false);
        return Wrap(new PrefixedStream(prefix, compressed), prefix, compression, layer, limits ?? LayerLimits.Default);
    }

    /// <summary>What the first bytes of a layer blob look like.</summary>
    public static LayerCompression? Sniff(ReadOnlySpan<byte> header)
    {
        if (header.Length >= 2 && header[0] == 0x1f && header[1] == 0x8b)
            return LayerCompression.Gzip;
        if (header.Length >= 4 && ((header[0] == 0x28 && header[1] == 0xb5 && header[2] == 0x2f && header[3] == 0xfd)
            || ((header[0] & 0xf0) == 0x50 && header[1] == 0x2a && header[2] == 0x4d && header[3] == 0x18)))
            return LayerCompression.Zstd;
        return null;
    }

    private static async ValueTask<byte[]> ReadPrefixAsync(Stream compressed, CancellationToken cancellationToken)
    {
        var prefix = new byte[SniffLength];
        var length = 0;
        while (length < prefix.Length && await compressed.ReadAsync(prefix.AsMemory(length), cancellationToken).ConfigureAwait(false) is var n and > 0)
            length += n;
        Array.Resize(ref prefix, length);
        return prefix;
    }

    private static Stream Wrap(Stream source, byte[] prefix, LayerCompression compression, Digest layer, LayerLimits limits)
    {
        var found = Sniff(prefix);
        if (found != (compression == LayerCompression.None ? null : compression))
        {
            source.Dispose();
            var actual = found?.ToString().ToLowerInvariant() ?? (prefix.Length == 0 ? "empty" : "not gzip or zstd");
            var declared = compression == LayerCompression.None ? "an uncompressed tar" : compression.ToString().ToLowerInvariant();
            throw new LayerUnpackException(
                $"layer {layer} is declared {declared} by its media type but its data is {actual} (starts with {Convert.ToHexString(prefix)})");
        }
        var counting = new CountingStream(source, leaveOpen: false);
        Stream decompressor = compression switch
        {
            LayerCompression.None => counting, // the size limit still applies; the ratio stays 1:1
            LayerCompression.Gzip => new GZipStream(counting, CompressionMode.Decompress, leaveOpen: false),
            LayerCompression.Zstd => new DecompressionStream(counting, leaveOpen: false),
            _ => throw new ArgumentOutOfRangeException(nameof(compression)),
        };
        return new LimitedStream(decompressor, counting, limits, layer);
    }
}
