using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Registrar.Tests;

/// <summary>The registrar as a real process, the agent side on a real swtpm: registration, activation, refusals.</summary>
public sealed class RegistrarServiceTests(RegistrarFixture fixture) : IClassFixture<RegistrarFixture>
{
    private static string NewAgentId() => Guid.NewGuid().ToString();

    private Task<TpmAgentIdentity> TpmAsync() => TpmAgentIdentity.CreateAsync(fixture.Swtpm.OpenDevice());

    private string AgentTls => fixture.CertificatePem(ServiceRoles.Agent);

    [Fact]
    public async Task RegisterActivate_RealTpm_ActiveWithRegisteredKeys()
    {
        var id = NewAgentId();
        await using var tpm = await TpmAsync();
        var challenge = await fixture.Agents().RegisterAsync(id, tpm.Registration(AgentTls));
        var pending = await fixture.Management().GetAsync(id);
        Assert.False(pending!.Active);

        var credential = await tpm.ActivateAsync(challenge);
        Assert.Equal(32, credential.Length);
        await fixture.Agents().ActivateAsync(id, new ActivationProof(RegistrarClient.ComputeProof(credential, id)));

        var agent = await fixture.Management(ServiceRoles.Verifier).GetAsync(id);
        Assert.NotNull(agent);
        Assert.True(agent.Active);
        Assert.NotNull(agent.ActivatedAt);
        Assert.Equal(tpm.Ak.Public.ToTpm2bPublic(), agent.AkPublic);
        Assert.Equal(tpm.EkCertificate, agent.EkCertificate);
        Assert.Equal(AgentTls, agent.TlsCertificate);
        Assert.Contains(await fixture.Management().ListAsync(), a => a.AgentId == id && a.Active);
    }

    [Fact]
    public async Task Activate_WrongProof_ForbiddenAndStillInactive()
    {
        var id = NewAgentId();
        await using var tpm = await TpmAsync();
        var challenge = await fixture.Agents().RegisterAsync(id, tpm.Registration(AgentTls));
        var credential = await tpm.ActivateAsync(challenge);
        credential[0] ^= 1;

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() =>
            fixture.Agents().ActivateAsync(id, new ActivationProof(RegistrarClient.ComputeProof(credential, id))));

        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("activation refused", e.Title);
        Assert.Equal("the activation proof does not match the credential challenge", e.Detail);
        Assert.False((await fixture.Management().GetAsync(id))!.Active);
    }

    [Fact]
    public async Task Activate_UnknownAgent_NotFound()
    {
        var id = NewAgentId();
        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => fixture.Agents().ActivateAsync(id, new ActivationProof(new byte[32])));
        Assert.Equal(HttpStatusCode.NotFound, e.Status);
        Assert.Equal($"agent {id} is not registered", e.Detail);
    }

    [Fact]
    public async Task Register_EkCertificateOfAnotherCa_Forbidden()
    {
        await using var tpm = await TpmAsync();
        var forged = ForgeEkCertificate(tpm);

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() =>
            fixture.Agents().RegisterAsync(NewAgentId(), tpm.Registration(AgentTls, ekCertificate: forged)));

        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("EK certificate refused", e.Title);
        Assert.Equal("certificate 'CN=Forged EK' is not trusted: PartialChain: unable to get local issuer certificate", e.Detail);
    }

    [Fact]
    public async Task Register_NoEkCertificateWhenRequired_Forbidden()
    {
        await using var tpm = await TpmAsync();
        var registration = tpm.Registration(AgentTls) with { EkCertificate = null };

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => fixture.Agents().RegisterAsync(NewAgentId(), registration));

        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("EK certificate refused", e.Title);
        Assert.Equal("no EK certificate: this registrar requires one (--require-ek-cert)", e.Detail);
    }

    [Fact]
    public async Task Register_EkCertificateOfOtherKey_Forbidden()
    {
        await using var tpm = await TpmAsync();
        var eccEk = await tpm.Device.CreateEkAsync(Tpm.TpmAlgId.Ecc);
        await tpm.Device.FlushContextAsync(eccEk.Handle);
        // The ECC EK's public area with the (genuine, trusted) certificate of the RSA EK.
        var registration = tpm.Registration(AgentTls) with { EkPublic = eccEk.Public.ToTpm2bPublic() };

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => fixture.Agents().RegisterAsync(NewAgentId(), registration));

        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("EK certificate refused", e.Title);
        Assert.Equal("the EK certificate's public key is not the EK public key", e.Detail);
    }

    [Fact]
    public async Task Register_AkNotRestrictedSigningKey_BadRequest()
    {
        await using var tpm = await TpmAsync();
        var registration = tpm.Registration(AgentTls, akPublic: tpm.Ek.Public.ToTpm2bPublic());

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => fixture.Agents().RegisterAsync(NewAgentId(), registration));

        Assert.Equal(HttpStatusCode.BadRequest, e.Status);
        Assert.Equal("invalid AK", e.Title);
        Assert.Equal("the AK is not a restricted signing key: type Rsa, attributes 0x000300B2; need RSA or ECC with "
            + "fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign (0x00050072) and no decrypt", e.Detail);
    }

    [Fact]
    public async Task Register_TlsCertificateOfOtherRole_Forbidden()
    {
        await using var tpm = await TpmAsync();
        // A server certificate (tenant certificates no longer allow server authentication at all).
        var registration = tpm.Registration(fixture.CertificatePem(ServiceRoles.Verifier));

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => fixture.Agents().RegisterAsync(NewAgentId(), registration));

        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("certificate 'CN=verifier, OU=verifier, O=TrustLaunch' is not an agent certificate (no trustlaunch://agent/NAME URI)", e.Detail);
    }

    [Fact]
    public async Task Register_DifferentAkForSameId_Conflict_SameKeysRenewChallenge()
    {
        var id = NewAgentId();
        byte[] otherAk;
        using (var device = fixture.Swtpm.OpenDevice())
        {
            // Made and flushed first: swtpm has three object slots, and the agent's EK and AK hold two.
            var other = await device.CreateAkAsync(Tpm.TpmAlgId.Ecc, Tpm.TpmAlgId.Rsa);
            otherAk = other.Public.ToTpm2bPublic();
            await device.FlushContextAsync(other.Handle);
        }
        await using var tpm = await TpmAsync();
        await fixture.Agents().RegisterAsync(id, tpm.Registration(AgentTls));
        var renewed = await fixture.Agents().RegisterAsync(id, tpm.Registration(AgentTls));
        await fixture.Agents().ActivateAsync(id, new ActivationProof(RegistrarClient.ComputeProof(await tpm.ActivateAsync(renewed), id)));

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() =>
            fixture.Agents().RegisterAsync(id, tpm.Registration(AgentTls, akPublic: otherAk)));

        Assert.Equal(HttpStatusCode.Conflict, e.Status);
        Assert.Equal($"agent {id} is already registered with a different EK or AK; delete its registration first", e.Detail);
        var kept = await fixture.Management().GetAsync(id);
        Assert.True(kept!.Active);
        Assert.Equal(tpm.Ak.Public.ToTpm2bPublic(), kept.AkPublic);
    }

    [Fact]
    public async Task Delete_RegisteredAgent_GoneThenNotFound()
    {
        var id = NewAgentId();
        await using var tpm = await TpmAsync();
        await fixture.Agents().RegisterAsync(id, tpm.Registration(AgentTls));
        Assert.True(await fixture.Management().DeleteAsync(id));
        Assert.Null(await fixture.Management().GetAsync(id));
        Assert.False(await fixture.Management().DeleteAsync(id));
    }

    [Fact]
    public async Task Management_NoClientCertificate_RefusedInTlsHandshake()
    {
        using var anonymous = fixture.AnonymousClient(fixture.ManagementPort);
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetAsync("v1/agents"));
        // TLS 1.3: the server checks the client certificate after its Finished, so the client sees the connection end.
        Assert.Equal(HttpRequestError.ResponseEnded, e.HttpRequestError);
    }

    [Fact]
    public async Task Management_AgentCertificate_ForbiddenByRole()
    {
        var e = await Assert.ThrowsAsync<ServiceProblemException>(() => fixture.Management(ServiceRoles.Agent).ListAsync());
        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("client certificate role 'agent' is not allowed here: needs tenant, verifier", e.Detail);
    }

    [Fact]
    public async Task Management_OnAgentPort_NotServed()
    {
        using var response = await fixture.AgentClient().GetAsync("v1/agents");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task KillDashNine_AfterActivation_StillActiveAfterRestart()
    {
        var id = NewAgentId();
        await using (var tpm = await TpmAsync())
        {
            var challenge = await fixture.Agents().RegisterAsync(id, tpm.Registration(AgentTls));
            await fixture.Agents().ActivateAsync(id, new ActivationProof(RegistrarClient.ComputeProof(await tpm.ActivateAsync(challenge), id)));
        }

        await fixture.Registrar.RestartAfterKillAsync();

        var agent = await fixture.Management().GetAsync(id);
        Assert.True(agent!.Active);
        Assert.NotNull(agent.ActivatedAt);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Sigterm_Registrar_ExitsZeroAndServesAgainOnRestart()
    {
        Assert.Equal(0, await fixture.Registrar.StopAsync());
        Assert.Contains("Application is shutting down...", fixture.Registrar.ReadLog());
        await fixture.Registrar.StartAsync();
        Assert.NotNull(await fixture.Management().ListAsync());
    }

    /// <summary>A certificate for this TPM's EK public key, issued by a CA the registrar does not trust.</summary>
    private static byte[] ForgeEkCertificate(TpmAgentIdentity tpm)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Forged TPM CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        using var ek = (RSA)tpm.Ek.Public.ToAsymmetricAlgorithm();
        var request = new CertificateRequest("CN=Forged EK", ek, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var forged = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now.AddDays(-1), now.AddYears(1), [1, 2, 3]);
        return forged.RawData;
    }
}
