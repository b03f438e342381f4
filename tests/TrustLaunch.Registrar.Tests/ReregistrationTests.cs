using System.Net;
using System.Security.Cryptography;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Registrar.Tests;

/// <summary>
/// What an unauthenticated caller can do to a registration (real registrar process, real swtpm): re-post a victim's
/// EK and AK with another certificate and address, answer for a certificate the TPM's holder did not register, read
/// the registrar's database for the credential.
/// </summary>
public sealed class ReregistrationTests(RegistrarFixture fixture) : IClassFixture<RegistrarFixture>
{
    private string AgentTls => fixture.CertificatePem(ServiceRoles.Agent);
    private string IntruderTls => fixture.CertificatePem(RegistrarFixture.IntruderAgent);

    private Task<TpmAgentIdentity> TpmAsync() => TpmAgentIdentity.CreateAsync(fixture.Swtpm.OpenDevice());

    private async Task<RegisteredAgent> RegisterAndActivateAsync(string id, TpmAgentIdentity tpm, AgentRegistration registration)
    {
        var challenge = await fixture.Agents().RegisterAsync(id, registration);
        var proof = RegistrarClient.ComputeProof(await tpm.ActivateAsync(challenge), id, registration.TlsCertificate);
        await fixture.Agents().ActivateAsync(id, new ActivationProof(proof));
        return (await fixture.Management().GetAsync(id))!;
    }

    [Fact]
    public async Task Repost_VictimsKeysWithOtherCertificate_ActiveRecordUnchanged()
    {
        var id = Guid.NewGuid().ToString();
        await using var tpm = await TpmAsync();
        var victim = await RegisterAndActivateAsync(id, tpm, tpm.Registration(AgentTls));

        // Anyone can post the victim's public EK, EK certificate and AK: the registrar answers with a challenge...
        var hijack = tpm.Registration(IntruderTls) with { Address = "10.66.6.6:9002" };
        await fixture.Agents().RegisterAsync(id, hijack);
        // ...but until it is answered the active registration is the victim's, whole.
        var kept = (await fixture.Management(ServiceRoles.Verifier).GetAsync(id))!;
        Assert.Equal((true, victim.ActivatedAt, AgentTls, "127.0.0.1:9002", victim.RegisteredAt),
            (kept.Active, kept.ActivatedAt, kept.TlsCertificate, kept.Address, kept.RegisteredAt));
        Assert.Contains(await fixture.Management().ListAsync(), a => a.AgentId == id && a.Active && a.TlsCertificate == AgentTls);

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() =>
            fixture.Agents().ActivateAsync(id, new ActivationProof(RandomNumberGenerator.GetBytes(32))));
        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("the activation proof does not match the credential challenge", e.Detail);
        Assert.Equal(AgentTls, (await fixture.Management().GetAsync(id))!.TlsCertificate);
    }

    [Fact]
    public async Task Activate_ProofForRegisteredCertificateButOtherPosted_RefusedSwappedCertificateNeverActive()
    {
        var id = Guid.NewGuid().ToString();
        await using var tpm = await TpmAsync();
        // The registration on the wire carries the intruder's certificate; the TPM's holder vouches for its own.
        var challenge = await fixture.Agents().RegisterAsync(id, tpm.Registration(IntruderTls));
        var credential = await tpm.ActivateAsync(challenge);

        var e = await Assert.ThrowsAsync<ServiceProblemException>(() =>
            fixture.Agents().ActivateAsync(id, new ActivationProof(RegistrarClient.ComputeProof(credential, id, AgentTls))));

        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.Equal("activation refused", e.Title);
        Assert.Equal("the activation proof does not match the credential challenge", e.Detail);
        Assert.False((await fixture.Management().GetAsync(id))!.Active);
    }

    [Fact]
    public async Task Reregister_NewAkSameEk_ActiveUntouchedUntilProvenThenReplaced()
    {
        var id = Guid.NewGuid().ToString();
        RegisteredAgent before;
        await using (var first = await TpmAsync())
            before = await RegisterAndActivateAsync(id, first, first.Registration(AgentTls));
        // A second AK under the same EK, as after a TPM clear.
        await using var second = await TpmAsync();
        Assert.NotEqual(before.AkPublic, second.Ak.Public.ToTpm2bPublic());

        var challenge = await fixture.Agents().RegisterAsync(id, second.Registration(AgentTls));
        var pending = (await fixture.Management().GetAsync(id))!;
        Assert.True(pending.Active);
        Assert.Equal(before.AkPublic, pending.AkPublic);

        var proof = RegistrarClient.ComputeProof(await second.ActivateAsync(challenge), id, AgentTls);
        await fixture.Agents().ActivateAsync(id, new ActivationProof(proof));
        var replaced = (await fixture.Management().GetAsync(id))!;
        Assert.True(replaced.Active);
        Assert.Equal(second.Ak.Public.ToTpm2bPublic(), replaced.AkPublic);
        Assert.True(replaced.ActivatedAt > before.ActivatedAt);
    }

    [Fact]
    public async Task Register_DifferentEkForActiveId_ConflictNothingChanged()
    {
        var id = Guid.NewGuid().ToString();
        RegisteredAgent before;
        await using (var tpm = await TpmAsync())
            before = await RegisterAndActivateAsync(id, tpm, tpm.Registration(AgentTls));
        var otherNode = new SwtpmFixture();
        await otherNode.InitializeAsync();
        ServiceProblemException e;
        try
        {
            await using var other = await TpmAgentIdentity.CreateAsync(otherNode.OpenDevice());
            e = await Assert.ThrowsAsync<ServiceProblemException>(() => fixture.Agents().RegisterAsync(id, other.Registration(AgentTls)));
        }
        finally
        {
            await otherNode.DisposeAsync();
        }

        Assert.Equal(HttpStatusCode.Conflict, e.Status);
        Assert.Equal($"agent {id} is registered with a different EK; delete its registration first", e.Detail);
        var kept = (await fixture.Management().GetAsync(id))!;
        Assert.True(kept.Active);
        Assert.Equal(before.EkPublic, kept.EkPublic);
        Assert.Equal(before.AkPublic, kept.AkPublic);
    }

    [Fact]
    public async Task Register_PendingChallenge_CredentialNowhereInTheDatabaseFiles()
    {
        var id = Guid.NewGuid().ToString();
        await using var tpm = await TpmAsync();
        var challenge = await fixture.Agents().RegisterAsync(id, tpm.Registration(AgentTls));
        var credential = await tpm.ActivateAsync(challenge);

        foreach (var file in Directory.GetFiles(fixture.DataDirectory, "registrar.db*"))
        {
            var bytes = await ReadSharedAsync(file);
            Assert.True(bytes.AsSpan().IndexOf(credential) < 0, $"{file} holds the credential");
        }
        await fixture.Agents().ActivateAsync(id, new ActivationProof(RegistrarClient.ComputeProof(credential, id, AgentTls)));
        Assert.True((await fixture.Management().GetAsync(id))!.Active);
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
