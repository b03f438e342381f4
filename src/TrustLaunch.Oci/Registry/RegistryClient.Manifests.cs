using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Registry;

public sealed partial class RegistryClient
{
    /// <summary>Media types a manifest GET accepts: OCI and Docker schema 2, manifests and indexes.</summary>
    public static IReadOnlyList<string> ManifestAcceptTypes { get; } =
        [MediaTypes.OciManifest, MediaTypes.OciIndex, MediaTypes.DockerManifest, MediaTypes.DockerManifestList];

    private HttpRequestMessage ManifestRequest(HttpMethod method, ImageReference reference)
    {
        var request = new HttpRequestMessage(method, new Uri(BaseUri(reference), $"{reference.Repository}/manifests/{reference.ManifestReference}"));
        foreach (var type in ManifestAcceptTypes)
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        return request;
    }

    /// <summary>The digest a tag points to (HEAD, falling back to a verified GET when the registry does not say).</summary>
    public async Task<Digest> ResolveAsync(ImageReference reference, CancellationToken cancellationToken = default)
    {
        if (reference.Digest is { } pinned)
            return pinned;
        return await FromSourcesAsync(reference, async source =>
        {
            using (var head = await SendAsync(source, push: false, () => ManifestRequest(HttpMethod.Head, source), HttpCompletionOption.ResponseHeadersRead, cancellationToken))
            {
                if (head.IsSuccessStatusCode && head.Headers.TryGetValues("Docker-Content-Digest", out var values) &&
                    Digest.TryParse(values.FirstOrDefault(), out var digest, out _))
                    return digest;
            }
            return (await GetManifestFromAsync(source, cancellationToken)).Digest;
        });
    }

    /// <summary>
    /// GETs a manifest or index by tag or digest. Its digest is computed over the exact bytes received and must equal
    /// the digest in the reference, and the registry's <c>Docker-Content-Digest</c> when it sends one. Mirrors
    /// (registries.conf) are tried first, in order; one that fails or serves other bytes is given up for the next.
    /// </summary>
    public Task<ManifestResponse> GetManifestAsync(ImageReference reference, CancellationToken cancellationToken = default) =>
        FromSourcesAsync(reference, source => GetManifestFromAsync(source, cancellationToken));

    private async Task<ManifestResponse> GetManifestFromAsync(ImageReference reference, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(reference, push: false, () => ManifestRequest(HttpMethod.Get, reference), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var what = $"manifest {reference}";
        if (!response.IsSuccessStatusCode)
            throw await ErrorAsync(response, what, cancellationToken);
        if (response.Content.Headers.ContentLength > _options.MaxManifestBytes)
            throw new InvalidDataException($"{what}: {response.Content.Headers.ContentLength} bytes is more than the {_options.MaxManifestBytes} allowed");
        var bytes = await ReadLimitedAsync(await response.Content.ReadAsStreamAsync(cancellationToken), _options.MaxManifestBytes, what, cancellationToken);

        Digest? registryDigest = response.Headers.TryGetValues("Docker-Content-Digest", out var values) && Digest.TryParse(values.FirstOrDefault(), out var d, out _) ? d : null;
        var expected = reference.Digest ?? registryDigest;
        var actual = Hash(bytes, expected?.Algorithm ?? "sha256");
        if (expected is { } e && actual != e)
            throw new OciDigestMismatchException(what, e, actual);
        if (registryDigest is { } r && r != expected && Hash(bytes, r.Algorithm) != r)
            throw new OciDigestMismatchException(what + " (Docker-Content-Digest)", r, Hash(bytes, r.Algorithm));

        var contentType = response.Content.Headers.ContentType?.MediaType;
        var mediaType = contentType is not null && (MediaTypes.IsIndex(contentType) || MediaTypes.IsManifest(contentType) || contentType.StartsWith("application/vnd.", StringComparison.Ordinal))
            ? contentType
            : ManifestResponse.SniffMediaType(bytes);
        return new ManifestResponse(actual, mediaType, bytes);
    }

    private static Digest Hash(byte[] bytes, string algorithm) =>
        Digest.FromHash(algorithm, algorithm == "sha512" ? SHA512.HashData(bytes) : SHA256.HashData(bytes));

    private static async Task<byte[]> ReadLimitedAsync(Stream stream, int limit, string what, CancellationToken cancellationToken)
    {
        await using (stream)
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                    throw new InvalidDataException($"{what}: more than the {limit} bytes allowed");
                buffer.Write(chunk, 0, read);
            }
            return buffer.ToArray();
        }
    }

    /// <summary>
    /// Resolves a reference to one image manifest: a manifest is returned as is, an index (or Docker manifest list) is
    /// searched for <paramref name="platform"/> (default the host's, <see cref="Platform.Default"/>) and that manifest fetched by digest.
    /// </summary>
    public async Task<ResolvedImage> ResolveImageAsync(ImageReference reference, Platform? platform = null, CancellationToken cancellationToken = default)
    {
        platform ??= Platform.Default;
        var top = await GetManifestAsync(reference, cancellationToken);
        if (MediaTypes.IsManifest(top.MediaType))
            return new ResolvedImage(reference.WithDigest(top.Digest), top, top.ParseManifest(), null);
        if (!top.IsIndex)
            throw new NotSupportedException($"manifest {reference}: media type '{top.MediaType}' is neither an image manifest nor an index");
        var index = top.ParseIndex();
        var chosen = platform.Select(index.Manifests);
        if (chosen is null)
        {
            var available = index.Manifests.Where(m => m.Platform is not null).Select(m => m.Platform!.ToString()).Distinct();
            throw new PlatformNotFoundException($"image {reference} has no manifest for platform {platform}; available: {string.Join(", ", available)}");
        }
        var pinned = reference.WithDigest(chosen.Digest);
        var manifest = await GetManifestAsync(pinned, cancellationToken);
        if (manifest.Bytes.Length != chosen.Size)
            throw new OciSizeMismatchException($"manifest {pinned}", chosen.Size, manifest.Bytes.Length, manifest.Bytes.Length > chosen.Size);
        if (!MediaTypes.IsManifest(manifest.MediaType))
            throw new NotSupportedException($"manifest {pinned}: media type '{manifest.MediaType}' is not an image manifest");
        return new ResolvedImage(pinned, manifest, manifest.ParseManifest(), top);
    }

    /// <summary>PUTs a manifest (or index, or artifact manifest) under the reference's tag or digest; returns its digest.</summary>
    public async Task<Digest> PushManifestAsync(ImageReference reference, ReadOnlyMemory<byte> manifest, string mediaType, CancellationToken cancellationToken = default)
    {
        var digest = Digest.Sha256(manifest.Span);
        if (reference.Digest is { } pinned && pinned != digest)
            throw new OciDigestMismatchException($"manifest for {reference}", pinned, digest);
        var target = reference.Tag is not null && reference.Digest is null ? reference.Tag : digest.ToString();
        using var response = await SendAsync(reference, push: true, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Put, new Uri(BaseUri(reference), $"{reference.Repository}/manifests/{target}"))
            {
                Content = new ReadOnlyMemoryContent(manifest),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return request;
        }, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created && !response.IsSuccessStatusCode)
            throw await ErrorAsync(response, $"push manifest {reference}", cancellationToken);
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && Digest.TryParse(values.FirstOrDefault(), out var echoed, out _) && echoed != digest)
            throw new OciDigestMismatchException($"pushed manifest {reference} (registry's digest)", digest, echoed);
        return digest;
    }
}
