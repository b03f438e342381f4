using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Kbs.Policy;
using TrustLaunch.Kbs.Resources;

namespace TrustLaunch.Kbs.Admin;

/// <summary>
/// The broker's admin API (<see cref="Apis.AdminApi"/>) over mutual TLS with a kbs-admin certificate; build the
/// HttpClient with <see cref="ServiceHttpClientFactory"/> for role kbs. Refusals throw
/// <see cref="ServiceProblemException"/> with the broker's reason; "not found" answers are null / false.
/// </summary>
public sealed class KbsAdminClient(HttpClient http)
{
    public async Task PutResourceAsync(ResourcePath path, byte[] bytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await http.PutAsync(ResourceUri(path), content, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, $"put resource {path}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores <paramref name="bytes"/> only if <paramref name="path"/> holds no resource; false when one was there.</summary>
    public async Task<bool> CreateResourceAsync(ResourcePath path, byte[] bytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Put, ResourceUri(path)) { Content = content };
        request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Any);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.PreconditionFailed)
            return false;
        await ServiceProblemException.EnsureSuccessAsync(response, $"create resource {path}", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The resource's bytes, or null when there is none.</summary>
    public async Task<byte[]?> GetResourceAsync(ResourcePath path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var response = await http.GetAsync(ResourceUri(path), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return null;
        await ServiceProblemException.EnsureSuccessAsync(response, $"get resource {path}", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ResourceListing>> ListResourcesAsync(CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(new Uri("kbs/v0/admin/resources", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "list resources", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(KbsAdminJsonContext.Default.IReadOnlyListResourceListing, cancellationToken).ConfigureAwait(false) ?? [];
    }

    /// <summary>Returns false when there was no such resource.</summary>
    public async Task<bool> DeleteResourceAsync(ResourcePath path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var response = await http.DeleteAsync(ResourceUri(path), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return false;
        await ServiceProblemException.EnsureSuccessAsync(response, $"delete resource {path}", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Stores the policy JSON as the next version; returns the version.</summary>
    public async Task<int> PutPolicyAsync(byte[] json, CancellationToken cancellationToken = default)
    {
        using var content = new ByteArrayContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PutAsync(new Uri("kbs/v0/admin/policy", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "put policy", cancellationToken).ConfigureAwait(false);
        return (await response.Content.ReadFromJsonAsync(KbsAdminJsonContext.Default.ResourcePolicyVersion, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("the broker answered the policy with an empty body")).Version;
    }

    public async Task<ResourcePolicyView> GetPolicyAsync(CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(new Uri("kbs/v0/admin/policy", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "get policy", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(KbsAdminJsonContext.Default.ResourcePolicyView, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("the broker answered with an empty policy");
    }

    private static Uri ResourceUri(ResourcePath path) => new($"kbs/v0/admin/resources/{path}", UriKind.Relative);
}
