namespace TrustLaunch.Oci.Layers;

/// <summary>A layer was refused: unsafe or contradictory entries, wrong compression, diff_id mismatch.</summary>
public class LayerUnpackException : IOException
{
    public LayerUnpackException(string message)
        : base(message)
    {
    }

    public LayerUnpackException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>A layer expands past the configured size or ratio limit (a decompression bomb, or a limit set too low).</summary>
public sealed class LayerLimitException(string message) : LayerUnpackException(message);
