using System.Net;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Registrar.Tests;

/// <summary>
/// <c>--ek-ca</c> with swtpm's local CA, as the README gives it: the fixture's registrar takes issuercert.pem and the
/// root as two <c>--ek-ca</c> (and registers swtpm's EKs in every other test); with the root alone the chain is partial.
/// </summary>
public sealed class EkCaTests(RegistrarFixture fixture) : IClassFixture<RegistrarFixture>
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Register_RegistrarGivenSwtpmRootOnly_RefusedPartialChain()
    {
        var port = FreePorts.FindPair();
        await using var rootOnly = await ServiceProcess.StartAsync("registrar",
        [
            "--data-dir", Path.Combine(fixture.Directory, "root-only"), "--tls-dir", fixture.TlsDirectory,
            "--ek-ca", Path.Combine(RegistrarFixture.SwtpmLocalCa, "swtpm-localca-rootca-cert.pem"),
            "--listen", $"127.0.0.1:{port}", "--management-listen", $"127.0.0.1:{port + 1}",
        ], new Uri($"https://127.0.0.1:{port}/readyz"), fixture.AgentClient(), Path.Combine(fixture.Directory, "root-only.log"));
        await using var tpm = await TpmAgentIdentity.CreateAsync(fixture.Swtpm.OpenDevice());
        var client = new RegistrarClient(new ServiceHttpClientFactory(TlsIdentity.FromDirectory(fixture.TlsDirectory, ServiceRoles.Agent))
            .Create(new Uri($"https://127.0.0.1:{port}/"), ServiceRoles.Registrar));

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() =>
            client.RegisterAsync(Guid.NewGuid().ToString(), tpm.Registration(fixture.CertificatePem(ServiceRoles.Agent))));

        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("EK certificate refused", e.Title);
        using var ekCertificate = X509CertificateLoader.LoadCertificate(tpm.EkCertificate!);
        Assert.Equal($"certificate '{ekCertificate.Subject}' is not trusted: PartialChain: unable to get local issuer certificate", e.Detail);
    }
}
