using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Hosting.Clients;

/// <summary>
/// The verifier's calls to an agent's attestation port (mTLS; the HttpClient pins the agent's registered TLS
/// certificate). Network faults surface as <see cref="HttpRequestException"/> or a timeout; an answer that is not
/// 200 as <see cref="ServiceResponseException"/> with the problem's detail.
/// </summary>
public sealed class AgentClient(HttpClient http)
{
    /// <summary><c>GET /v1/quote?nonce=HEX&amp;pcrs=…&amp;since=N</c>.</summary>
    public async Task<QuoteEvidence> GetQuoteAsync(ReadOnlyMemory<byte> nonce, IReadOnlyList<int> pcrs, long since, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pcrs);
        var uri = string.Create(CultureInfo.InvariantCulture,
            $"v1/quote?nonce={Convert.ToHexStringLower(nonce.Span)}&pcrs={string.Join(',', pcrs)}&since={since}");
        using var response = await http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
        await ServiceResponseException.ThrowIfFailedAsync(response, "agent", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.QuoteEvidence, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceResponseException(response.StatusCode, "agent answered an empty quote");
    }

    /// <summary><c>GET /v1/info</c>.</summary>
    public async Task<AgentInfo> GetInfoAsync(CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync("v1/info", cancellationToken).ConfigureAwait(false);
        await ServiceResponseException.ThrowIfFailedAsync(response, "agent", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.AgentInfo, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceResponseException(response.StatusCode, "agent answered empty info");
    }
}

/// <summary>A TrustLaunch service answered with an error status; <see cref="Exception.Message"/> is its problem detail.</summary>
public sealed class ServiceResponseException(HttpStatusCode statusCode, string message) : Exception(message)
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    /// <summary>Throws with the RFC 7807 detail (or title, or status) when the response is not a success.</summary>
    public static async Task ThrowIfFailedAsync(HttpResponseMessage response, string service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.IsSuccessStatusCode)
            return;
        ProblemDetails? problem = null;
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json")
        {
            try
            {
                problem = await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.ProblemDetails, cancellationToken).ConfigureAwait(false);
            }
            catch (System.Text.Json.JsonException)
            {
                // Not a problem document: the status says enough.
            }
        }
        var what = problem?.Detail ?? problem?.Title ?? response.ReasonPhrase ?? "error";
        throw new ServiceResponseException(response.StatusCode,
            string.Create(CultureInfo.InvariantCulture, $"{service} answered {(int)response.StatusCode}: {what}"));
    }
}
