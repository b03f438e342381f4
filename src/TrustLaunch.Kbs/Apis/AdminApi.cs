using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;
using TrustLaunch.Kbs.Policy;
using TrustLaunch.Kbs.Resources;

namespace TrustLaunch.Kbs.Apis;

/// <summary>
/// The admin API on its own mutual-TLS listener, for <c>kbs-admin</c> certificates only: resources
/// (<c>PUT</c>/<c>GET</c>/<c>DELETE /kbs/v0/admin/resources/{repository}/{type}/{tag}</c>, raw bytes, a PUT with
/// <c>If-None-Match: *</c> only creating (412 when the resource exists); <c>GET
/// /kbs/v0/admin/resources</c> lists them) and the resource policy (<c>PUT</c>/<c>GET /kbs/v0/admin/policy</c>).
/// Refusals are problem documents.
/// </summary>
public static class AdminApi
{
    public const int MaxResourceBytes = 1024 * 1024;
    public const int MaxPolicyBytes = 1024 * 1024;

    public static void MapAdminApi(this WebApplication app, ServiceEndpoint endpoint)
    {
        var admin = app.MapGroup("/kbs/v0/admin").OnEndpoint(endpoint).RequireClientRole(ServiceRoles.KbsAdmin);
        admin.MapGet("/resources", async (ResourceStore store, CancellationToken ct) =>
            TypedResults.Json<IReadOnlyList<ResourceListing>>(
                [.. (await store.ListAsync(ct).ConfigureAwait(false)).Select(e => new ResourceListing(e.Path, e.Size, e.Updated))],
                KbsAdminJsonContext.Default.IReadOnlyListResourceListing));
        admin.MapPut("/resources/{repository}/{type}/{tag}", PutResourceAsync);
        admin.MapGet("/resources/{repository}/{type}/{tag}", GetResourceAsync);
        admin.MapDelete("/resources/{repository}/{type}/{tag}", async Task<Results<NoContent, ProblemHttpResult>> (string repository, string type, string tag,
            ResourceStore store, CancellationToken ct) =>
        {
            if (!TryPath(repository, type, tag, out var path, out var bad))
                return bad;
            return await store.DeleteAsync(path, ct).ConfigureAwait(false) ? TypedResults.NoContent() : NoSuchResource(path);
        });
        admin.MapPut("/policy", PutPolicyAsync);
        admin.MapGet("/policy", async (ResourcePolicyHolder policy, CancellationToken ct) =>
        {
            var current = await policy.CurrentAsync(ct).ConfigureAwait(false);
            return TypedResults.Json(new ResourcePolicyView(current.Version, current.Document), KbsAdminJsonContext.Default.ResourcePolicyView);
        });
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> PutResourceAsync(string repository, string type, string tag, HttpRequest request,
        ResourceStore store, KbsOptions options, TimeProvider time, CancellationToken ct)
    {
        if (!TryPath(repository, type, tag, out var path, out var bad))
            return bad;
        var body = await ReadBodyAsync(request, MaxResourceBytes, ct).ConfigureAwait(false);
        if (body is null)
            return TooLarge("resource", MaxResourceBytes);
        try
        {
            var sealedResource = SealedResource.Seal(path, body, options.KeyWrapper);
            // If-None-Match: * (RFC 9110) asks for create-only, so two first writers cannot overwrite each other.
            if (request.Headers.IfNoneMatch.ToString() == "*")
            {
                return await store.CreateAsync(path, sealedResource, body.Length, time.GetUtcNow(), ct).ConfigureAwait(false)
                    ? TypedResults.NoContent()
                    : TypedResults.Problem(title: "resource exists", detail: $"resource {path} exists: create-only put (If-None-Match: *) left it as it was",
                        statusCode: StatusCodes.Status412PreconditionFailed);
            }
            await store.PutAsync(path, sealedResource, body.Length, time.GetUtcNow(), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetResourceAsync(string repository, string type, string tag,
        ResourceStore store, KbsOptions options, CancellationToken ct)
    {
        if (!TryPath(repository, type, tag, out var path, out var bad))
            return bad;
        var sealedResource = await store.GetAsync(path, ct).ConfigureAwait(false);
        if (sealedResource is null)
            return NoSuchResource(path);
        try
        {
            return TypedResults.File(sealedResource.Open(path, options.KeyWrapper), "application/octet-stream");
        }
        catch (CryptographicException e)
        {
            return TypedResults.Problem(title: "resource does not open", detail: e.Message, statusCode: StatusCodes.Status500InternalServerError);
        }
    }

    private static async Task<Results<JsonHttpResult<ResourcePolicyVersion>, ProblemHttpResult>> PutPolicyAsync(HttpRequest request, ResourceStore store,
        TimeProvider time, CancellationToken ct)
    {
        var body = await ReadBodyAsync(request, MaxPolicyBytes, ct).ConfigureAwait(false);
        if (body is null)
            return TooLarge("policy", MaxPolicyBytes);
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body);
            ResourcePolicy.Parse(0, text);
        }
        catch (Exception e) when (e is FormatException or DecoderFallbackException)
        {
            return TypedResults.Problem(title: "invalid policy", detail: e.Message, statusCode: StatusCodes.Status400BadRequest);
        }
        var version = await store.AddPolicyAsync(text, time.GetUtcNow(), ct).ConfigureAwait(false);
        return TypedResults.Json(new ResourcePolicyVersion(version), KbsAdminJsonContext.Default.ResourcePolicyVersion);
    }

    private static bool TryPath(string repository, string type, string tag, out ResourcePath path, out ProblemHttpResult bad)
    {
        try
        {
            path = ResourcePath.Create(repository, type, tag);
            bad = null!;
            return true;
        }
        catch (FormatException e)
        {
            path = null!;
            bad = TypedResults.Problem(title: "invalid resource path", detail: e.Message, statusCode: StatusCodes.Status400BadRequest);
            return false;
        }
    }

    /// <summary>The body, or null when it is longer than <paramref name="limit"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        if (request.ContentLength > limit)
            return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                CryptographicOperations.ZeroMemory(buffer.GetBuffer());
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        var body = buffer.ToArray();
        CryptographicOperations.ZeroMemory(buffer.GetBuffer());
        CryptographicOperations.ZeroMemory(chunk);
        return body;
    }

    private static ProblemHttpResult TooLarge(string what, int limit) =>
        TypedResults.Problem(title: $"{what} too large", detail: $"the {what} is larger than {limit} bytes", statusCode: StatusCodes.Status413PayloadTooLarge);

    private static ProblemHttpResult NoSuchResource(ResourcePath path) =>
        TypedResults.Problem(title: "no such resource", detail: $"no resource {path}", statusCode: StatusCodes.Status404NotFound);
}
