using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Tests.Crypt;

/// <summary>Minimal OCI image layout access for interop tests: the manifest tagged NAME, blobs by digest.</summary>
internal sealed class OciLayout(string root)
{
    public string Root { get; } = root;

    public string BlobPath(Digest d) => Path.Combine(Root, "blobs", d.Algorithm, d.Hex);

    public OciManifest Manifest(string tag, out Digest digest)
    {
        var index = JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(Root, "index.json")), OciJsonContext.Default.OciIndex)!;
        var entry = index.Manifests.Single(m => m.Annotations?.GetValueOrDefault("org.opencontainers.image.ref.name") == tag);
        digest = entry.Digest;
        return JsonSerializer.Deserialize(File.ReadAllBytes(BlobPath(entry.Digest)), OciJsonContext.Default.OciManifest)!;
    }

    public Digest WriteBlob(byte[] data)
    {
        var d = Digest.Sha256(data);
        Directory.CreateDirectory(Path.GetDirectoryName(BlobPath(d))!);
        File.WriteAllBytes(BlobPath(d), data);
        return d;
    }

    public static OciLayout Create(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(root, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        return new OciLayout(root);
    }

    public void WriteIndex(string tag, Digest manifest, long size)
    {
        var index = new OciIndex
        {
            Manifests = [new OciDescriptor
            {
                MediaType = MediaTypes.OciManifest,
                Digest = manifest,
                Size = size,
                Annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = tag },
            }],
        };
        File.WriteAllBytes(Path.Combine(Root, "index.json"), JsonSerializer.SerializeToUtf8Bytes(index, OciJsonContext.Default.OciIndex));
    }
}
