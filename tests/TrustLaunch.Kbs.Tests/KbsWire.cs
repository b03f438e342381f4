using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs.Tests;

/// <summary>The broker's wire as the tests drive it by hand: attestation bodies, resource requests, error checks.</summary>
internal static class KbsWire
{
    public static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string name, string detail)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        var body = JsonSerializer.Deserialize(text, KbsJsonContext.Default.KbsErrorBody)!;
        Assert.Equal((KbsError.TypePrefix + name, detail), (body.Type, body.Detail));
    }

    public static StringContent Json(KbsAttestation attestation) =>
        new(JsonSerializer.Serialize(attestation, KbsJsonContext.Default.KbsAttestation), Encoding.UTF8, "application/json");

    public static KbsAttestation Attestation(string nonce, Jwk teeKey, KbsTeeEvidence evidence)
    {
        using var teePubkey = JsonDocument.Parse(teeKey.ToJson());
        return new KbsAttestation(new KbsRuntimeData(nonce, teePubkey.RootElement.Clone()), evidence);
    }

    /// <summary>Auth and attest on <paramref name="client"/> (its cookie jar keeps the session) with
    /// <paramref name="key"/> as the tee key; the token.</summary>
    public static async Task<string> AttestAsync(HttpClient client, SwtpmAgentEvidence evidence, JweDecryptionKey key)
    {
        var nonce = await KbsFixture.AuthAsync(client);
        using var teePubkey = JsonDocument.Parse(key.PublicJwk.ToJson());
        var tee = await evidence.CollectAsync(nonce, teePubkey.RootElement, default);
        using var response = await client.PostAsync("kbs/v0/attest", Json(Attestation(nonce, key.PublicJwk, tee)));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"attest: {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize(text, KbsJsonContext.Default.KbsAttestationToken)!.Token;
    }

    /// <summary><c>GET /kbs/v0/resource/PATH</c> with the client's cookie, or with <paramref name="bearer"/>.</summary>
    public static async Task<HttpResponseMessage> GetResourceAsync(HttpClient client, string path, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "kbs/v0/resource/" + path);
        if (bearer is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await client.SendAsync(request);
    }
}
