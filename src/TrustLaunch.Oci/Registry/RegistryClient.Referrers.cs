using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Registry;

public sealed partial class RegistryClient
{
    /// <summary>
    /// The OCI 1.1 referrers API: the descriptors of manifests whose <c>subject</c> is <paramref name="subject"/>, of
    /// <paramref name="artifactType"/> (filtered here too: the registry may ignore the filter). Null when the registry
    /// does not serve the API (404, or an answer that is not an image index): callers then use the tag scheme.
    /// </summary>
    public Task<IReadOnlyList<OciDescriptor>?> GetReferrersAsync(ImageReference repo, Digest subject, string artifactType, CancellationToken cancellationToken = default) =>
        FromSourcesAsync(repo, async source =>
        {
            using var response = await SendAsync(source, push: false, () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get,
                    new Uri(BaseUri(source), $"{source.Repository}/referrers/{subject}?artifactType={Uri.EscapeDataString(artifactType)}"));
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypes.OciIndex));
                return request;
            }, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound || response.Content.Headers.ContentType?.MediaType != MediaTypes.OciIndex)
                return null;
            if (!response.IsSuccessStatusCode)
                throw await ErrorAsync(response, $"referrers of {source.Name}@{subject}", cancellationToken);
            var what = $"referrers of {source.Name}@{subject}";
            var bytes = await ReadLimitedAsync(await response.Content.ReadAsStreamAsync(cancellationToken), _options.MaxManifestBytes, what, cancellationToken);
            OciIndex? index;
            try
            {
                index = JsonSerializer.Deserialize(bytes, OciJsonContext.Default.OciIndex);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{what}: not an image index: {e.Message}", e);
            }
            return (IReadOnlyList<OciDescriptor>?)(index?.Manifests.Where(m => m.ArtifactType == artifactType).ToList() ?? []);
        });
}
