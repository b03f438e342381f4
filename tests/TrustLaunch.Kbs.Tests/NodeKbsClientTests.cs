using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Client;

namespace TrustLaunch.Kbs.Tests;

/// <summary>What the node's KBS client refuses on its own: JWEs modified on the way, answers that are not Trustee's
/// error shape, resource URIs naming another broker.</summary>
public sealed class NodeKbsClientTests
{
    private static readonly KbsResourceUri Resource = KbsResourceUri.Parse("kbs:///default/key/1");
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("the image key");

    private const string Modified = "the broker's JWE for kbs:///default/key/1 is refused: JWE authentication tag mismatch: the ciphertext, tag, IV or protected header was modified";
    private const string NotOpened = "the broker's JWE for kbs:///default/key/1 is refused: JWE does not open with this key: not addressed to it, or its encrypted_key was modified";

    [Fact]
    public void Open_BrokersJwe_Plaintext()
    {
        using var key = JweDecryptionKey.CreateP256();
        var jwe = JweJson.EncryptFlattened(Secret, key.PublicJwk);
        Assert.Equal(Secret, KbsClient.Open(Encoding.UTF8.GetBytes(jwe), key, Resource));
    }

    [Theory]
    [InlineData("protected", Modified)]
    [InlineData("ciphertext", Modified)]
    [InlineData("tag", Modified)]
    [InlineData("iv", Modified)]
    [InlineData("encrypted_key", NotOpened)]
    public void Open_MemberModified_Refused(string member, string message)
    {
        using var key = JweDecryptionKey.CreateP256();
        var jwe = Tamper(JweJson.EncryptFlattened(Secret, key.PublicJwk), member);
        var e = Assert.Throws<KbsProtocolException>(() => KbsClient.Open(Encoding.UTF8.GetBytes(jwe), key, Resource));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Open_JweToAnotherKey_Refused()
    {
        using var key = JweDecryptionKey.CreateP256();
        using var other = JweDecryptionKey.CreateP256();
        var jwe = JweJson.EncryptFlattened(Secret, other.PublicJwk);
        var e = Assert.Throws<KbsProtocolException>(() => KbsClient.Open(Encoding.UTF8.GetBytes(jwe), key, Resource));
        Assert.Equal(NotOpened, e.Message);
    }

    [Fact]
    public void Open_NotJson_Refused()
    {
        using var key = JweDecryptionKey.CreateP256();
        var e = Assert.Throws<KbsProtocolException>(() => KbsClient.Open("the key in clear"u8.ToArray(), key, Resource));
        Assert.StartsWith("the broker's JWE for kbs:///default/key/1 is refused: JWE is not JSON: ", e.Message);
    }

    /// <summary>The JWE with one member changed as an attacker on the path would: the protected header gains a
    /// member (its key agreement unchanged), the others have their first byte flipped.</summary>
    internal static string Tamper(string jwe, string member)
    {
        var node = JsonNode.Parse(jwe)!.AsObject();
        var value = System.Buffers.Text.Base64Url.DecodeFromChars(node[member]!.GetValue<string>());
        if (member == "protected")
        {
            var header = JsonNode.Parse(value)!.AsObject();
            header["kid"] = "attacker";
            value = Encoding.UTF8.GetBytes(header.ToJsonString());
        }
        else
        {
            value[0] ^= 0x01;
        }
        node[member] = System.Buffers.Text.Base64Url.EncodeToString(value);
        return node.ToJsonString();
    }

    [Fact]
    public void Refusal_TrusteeErrorBody_NameAndDetail()
    {
        var body = """{"type":"https://github.com/confidential-containers/kbs/errors/PolicyDenied","detail":"resource default/key/1 is not allowed for agent x"}"""u8.ToArray();
        var e = KbsClient.Refusal("resource", HttpStatusCode.Forbidden, body);
        Assert.Equal(("PolicyDenied", "resource default/key/1 is not allowed for agent x"), (e.Name, e.Detail));
        Assert.Equal("kbs refused: PolicyDenied: resource default/key/1 is not allowed for agent x", e.Message);
    }

    [Theory]
    [InlineData("<html>bad gateway</html>")]
    [InlineData("""{"type":"about:blank","detail":"x"}""")]
    public void Refusal_NotTrusteeShape_StatusOnly(string body)
    {
        var e = KbsClient.Refusal("attest", HttpStatusCode.BadGateway, Encoding.UTF8.GetBytes(body));
        Assert.Equal("kbs refused: HTTP 502: the broker answered attest with 502 BadGateway and no Trustee error body", e.Message);
    }

    [Fact]
    public async Task GetResource_UriNamesAnotherBroker_RefusedBeforeAsking()
    {
        using var http = new HttpClient();
        var client = new KbsClient(http, new Uri("https://127.0.0.1:8080"), new NodeSoftwareEvidence());
        using var session = new KbsAttestedSession("id", "token", JweDecryptionKey.CreateP256());
        var e = await Assert.ThrowsAsync<KbsProtocolException>(() =>
            client.GetResourceAsync(session, KbsResourceUri.Parse("kbs://evil.example:8080/default/key/1"), KbsCredential.Cookie));
        Assert.Equal("resource URI 'kbs://evil.example:8080/default/key/1' names the broker evil.example:8080, this client's broker is 127.0.0.1:8080", e.Message);
    }
}
