using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace TrustLaunch.Kbs.Tests;

/// <summary>Image manifests read from and written to the test registry directly (distribution API, no auth).</summary>
internal static class RegistryManifests
{
    public const string ProviderAnnotation = "org.opencontainers.image.enc.keys.provider.trustlaunch";
    public const string JweAnnotation = "org.opencontainers.image.enc.keys.jwe";

    public static async Task<JsonObject> GetAsync(string host, string repository, string tag)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{host}/v2/{repository}/manifests/{tag}");
        request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
        request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>The manifest digest the registry answers for TAG (Docker-Content-Digest) and its media type.</summary>
    public static async Task<(string Digest, string MediaType)> DigestAsync(string host, string repository, string tag)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Head, $"http://{host}/v2/{repository}/manifests/{tag}");
        request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
        request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (response.Headers.GetValues("Docker-Content-Digest").Single(), response.Content.Headers.ContentType?.MediaType ?? "");
    }

    /// <summary>Pushes <paramref name="manifest"/> as <paramref name="tag"/> (its blobs must be in the repository already).</summary>
    public static async Task PutAsync(string host, string repository, string tag, JsonObject manifest)
    {
        using var http = new HttpClient();
        using var content = new StringContent(manifest.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue((string?)manifest["mediaType"] ?? "application/vnd.oci.image.manifest.v1+json");
        using var response = await http.PutAsync(new Uri($"http://{host}/v2/{repository}/manifests/{tag}"), content);
        response.EnsureSuccessStatusCode();
    }

    public static List<string> LayerDigests(JsonObject manifest) => [.. manifest["layers"]!.AsArray().Select(l => (string)l!["digest"]!)];
}
