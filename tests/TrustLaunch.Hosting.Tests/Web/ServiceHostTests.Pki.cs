using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Tests.Web;

/// <summary>What a TLS peer must be: the role the client expects at the server, not revoked (the CRL re-read
/// without a restart), and named for the host the client dialled.</summary>
public sealed partial class ServiceHostTests
{
    [Fact]
    public async Task ClientFactory_ServerCertificateOfAnotherRole_RefusedNamingExpectedAndFoundRole()
    {
        using var client = Client(ServiceRoles.Tenant, _mtls, ServiceRoles.Verifier);
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/healthz"));
        Assert.Equal($"server 127.0.0.1:{_mtls.Address.Port} refused: the server certificate 'CN=registrar, OU=registrar, O=TrustLaunch' has role 'registrar', "
            + "expected role 'verifier'", e.Message);
    }

    [Fact]
    public async Task ClientFactory_HostNameTheServerCertificateDoesNotName_Refused()
    {
        // The registrar's certificate names 127.0.0.1 only: no localhost by default.
        using var identity = _pki.Identity(ServiceRoles.Tenant);
        using var client = new Clients.ServiceHttpClientFactory(identity).Create(new Uri($"https://localhost:{_mtls.Address.Port}/"), ServiceRoles.Registrar);
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/healthz"));
        Assert.Equal($"server localhost:{_mtls.Address.Port} refused: the server certificate 'CN=registrar, OU=registrar, O=TrustLaunch' does not name this host "
            + "(its DNS/IP subject alternative names, ca issue --san)", e.Message);
    }

    [Fact]
    public async Task ClientCertificateRevokedWhileServing_NextHandshakeRefused_OthersStillServed()
    {
        using (var before = Client(ServiceRoles.Agent, _tls))
            Assert.Contains("CN=agent", await before.GetStringAsync("/v1/caller"));

        using (var ca = _pki.OpenCa())
            ca.Revoke(ServiceRoles.Agent);

        using var revoked = Client(ServiceRoles.Agent, _mtls);
        await Assert.ThrowsAsync<HttpRequestException>(() => revoked.GetAsync("/healthz"));
        // On the port where a client certificate is optional, a revoked one is refused all the same.
        using var revokedOnTls = Client(ServiceRoles.Agent, _tls);
        await Assert.ThrowsAsync<HttpRequestException>(() => revokedOnTls.GetAsync("/v1/caller"));
        using var tenant = Client(ServiceRoles.Tenant, _mtls);
        Assert.Equal("admin\n", await tenant.GetStringAsync("/v1/admin/"));
    }

    [Fact]
    public async Task ServerCertificateRevoked_ClientRefusesNamingTheRevocation()
    {
        using (var ca = _pki.OpenCa())
            ca.Revoke(ServiceRoles.Registrar);

        // The client reads the same CRL file: a new identity, as a fresh process would load it.
        using var client = Client(ServiceRoles.Tenant, _mtls);
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/healthz"));
        Assert.StartsWith($"server 127.0.0.1:{_mtls.Address.Port} refused: certificate 'CN=registrar, OU=registrar, O=TrustLaunch' (serial ", e.Message);
        Assert.EndsWith($") is revoked ({_pki["crl.pem"]})", e.Message);
    }
}
