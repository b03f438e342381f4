using System.Globalization;
using System.Net.Http.Json;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Hosting.Clients;

/// <summary>
/// The verifier's calls to an agent's attestation port (mTLS; the HttpClient pins the agent's registered TLS
/// certificate). Network faults surface as <see cref="HttpRequestException"/> or a timeout; an answer that is not
/// 200 as <see cref="ServiceProblemException"/> with the problem's detail.
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
        await ServiceProblemException.EnsureSuccessAsync(response, "agent", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.QuoteEvidence, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceProblemException("agent quote", response.StatusCode, "empty body", null);
    }

    /// <summary><c>GET /v1/info</c>.</summary>
    public async Task<AgentInfo> GetInfoAsync(CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync("v1/info", cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "agent", cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.AgentInfo, cancellationToken).ConfigureAwait(false)
            ?? throw new ServiceProblemException("agent info", response.StatusCode, "empty body", null);
    }
}
