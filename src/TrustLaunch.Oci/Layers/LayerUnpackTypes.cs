using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Layers;

/// <summary>A layer to unpack: its blob digest and compression, the diff_id the image config expects, and how to open the blob.</summary>
public sealed record LayerSource(Digest Digest, LayerCompression Compression, Digest DiffId, Func<CancellationToken, ValueTask<Stream>> OpenAsync)
{
    /// <summary>A layer blob stored in a file (e.g. <c>blobs/sha256/…</c> of a content store or OCI layout).</summary>
    public static LayerSource FromFile(string path, OciDescriptor descriptor, Digest diffId) =>
        new(descriptor.Digest, MediaTypes.CompressionOf(descriptor.MediaType), diffId, _ => ValueTask.FromResult<Stream>(
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan)));
}

/// <summary>What to do with character and block devices when not running as root (mknod needs privilege).</summary>
public enum DeviceNodePolicy
{
    /// <summary>Skip them and count them in <see cref="LayerUnpackResult.SkippedDeviceNodes"/>.</summary>
    Skip,

    /// <summary>Refuse the layer.</summary>
    Refuse,
}

public sealed record UnpackOptions
{
    public LayerLimits Limits { get; init; } = LayerLimits.Default;

    /// <summary>Whether to act as root (lchown, mknod); null = the effective uid is 0.</summary>
    public bool? RunningAsRoot { get; init; }

    public DeviceNodePolicy DevicesWhenNotRoot { get; init; } = DeviceNodePolicy.Skip;
}

/// <summary>The outcome of applying one layer.</summary>
public sealed record LayerUnpackResult
{
    public long Entries { get; init; }

    /// <summary>Bytes of uncompressed tar read (including padding after the end-of-archive blocks).</summary>
    public long UncompressedBytes { get; init; }

    /// <summary>The diff_id checked, when the layer came with one.</summary>
    public Digest? DiffId { get; init; }

    public int SkippedDeviceNodes { get; init; }

    /// <summary>Extended attributes of the image's kinds (<see cref="ImageXattrs"/>) the filesystem refused.</summary>
    public int XattrsNotApplied { get; init; }

    /// <summary>Extended attributes not applied because they are not the image's to set (<c>trusted.*</c>, <c>security.selinux</c>, …).</summary>
    public int XattrsSkipped { get; init; }
}

public sealed record ImageUnpackResult(string RootDirectory, IReadOnlyList<LayerUnpackResult> Layers);
