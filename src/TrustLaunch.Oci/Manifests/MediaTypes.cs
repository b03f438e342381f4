namespace TrustLaunch.Oci.Manifests;

/// <summary>Media types of the OCI image spec, Docker schema 2 and ocicrypt.</summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerTar = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string OciLayerTarEncrypted = "application/vnd.oci.image.layer.v1.tar+encrypted";
    public const string OciLayerGzipEncrypted = "application/vnd.oci.image.layer.v1.tar+gzip+encrypted";
    public const string OciLayerZstdEncrypted = "application/vnd.oci.image.layer.v1.tar+zstd+encrypted";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";

    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    /// <summary>TrustLaunch's golden value artifact.</summary>
    public const string GoldenValue = "application/vnd.trustlaunch.golden.v1+json";

    public const string EncryptedSuffix = "+encrypted";

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;
    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;
    public static bool IsEncrypted(string mediaType) => mediaType.EndsWith(EncryptedSuffix, StringComparison.Ordinal);

    /// <summary>The compression of a layer's (decrypted) tar stream, from its media type.</summary>
    public static LayerCompression CompressionOf(string mediaType)
    {
        var plain = IsEncrypted(mediaType) ? mediaType[..^EncryptedSuffix.Length] : mediaType;
        return plain switch
        {
            OciLayerTar or "application/vnd.docker.image.rootfs.diff.tar" => LayerCompression.None,
            OciLayerGzip or DockerLayerGzip or "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => LayerCompression.Gzip,
            OciLayerZstd or "application/vnd.docker.image.rootfs.diff.tar.zstd" => LayerCompression.Zstd,
            _ => throw new NotSupportedException($"layer media type '{mediaType}' is not a tar, tar+gzip or tar+zstd layer"),
        };
    }
}

public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}
