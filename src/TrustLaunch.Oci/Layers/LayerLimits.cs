namespace TrustLaunch.Oci.Layers;

/// <summary>How far a layer may expand when decompressed.</summary>
public sealed record LayerLimits
{
    public static LayerLimits Default { get; } = new();

    /// <summary>Maximum uncompressed size of one layer (default 8 GiB).</summary>
    public long MaxUncompressedBytes { get; init; } = 8L << 30;

    /// <summary>Maximum ratio uncompressed / compressed bytes read so far (default 200:1).</summary>
    public double MaxRatio { get; init; } = 200;

    /// <summary>The ratio is only checked past this many uncompressed bytes (default 1 MiB): tiny layers compress well.</summary>
    public long RatioGraceBytes { get; init; } = 1L << 20;
}
