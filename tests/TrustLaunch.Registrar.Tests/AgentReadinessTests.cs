using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Testing;

namespace TrustLaunch.Registrar.Tests;

/// <summary>A real agent process the real registrar refuses for good: its <c>/readyz</c> says so, with the reason.</summary>
public sealed class AgentReadinessTests(RegistrarFixture fixture) : IClassFixture<RegistrarFixture>
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Agent_IdActiveWithOtherEk_ReadyzNotReadyWithRegistrarsReason()
    {
        var id = Guid.NewGuid().ToString();
        // Another node (its own TPM) holds the id.
        var otherNode = new SwtpmFixture();
        await otherNode.InitializeAsync();
        try
        {
            await using var other = await TpmAgentIdentity.CreateAsync(otherNode.OpenDevice());
            var tls = fixture.CertificatePem(ServiceRoles.Agent);
            var challenge = await fixture.Agents().RegisterAsync(id, other.Registration(tls));
            await fixture.Agents().ActivateAsync(id, new ActivationProof(RegistrarClient.ComputeProof(await other.ActivateAsync(challenge), id, tls)));
        }
        finally
        {
            await otherNode.DisposeAsync();
        }

        int port;
        HttpClient verifierClient;
        ServiceProcess agent;
        for (var attempt = 0; ; attempt++)
        {
            port = FreePorts.FindPair();
            verifierClient = new ServiceHttpClientFactory(TlsIdentity.FromDirectory(fixture.TlsDirectory, ServiceRoles.Verifier))
                .Create(new Uri($"https://127.0.0.1:{port}/"), ServiceRoles.Agent);
            try
            {
                agent = await ServiceProcess.StartAsync("agent",
                [
                    "--agent-id", id, "--data-dir", Path.Combine(fixture.Directory, "agent-" + id), "--tpm", fixture.Swtpm.Tcti,
                    "--tls-dir", fixture.TlsDirectory, "--registrar", $"https://127.0.0.1:{fixture.AgentPort}", "--listen", $"127.0.0.1:{port}",
                ], new Uri($"https://127.0.0.1:{port}/healthz"), verifierClient, Path.Combine(fixture.Directory, "agent-" + id + ".log"));
                break;
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.Ordinal))
            {
                // The picked port was taken meanwhile by another process: try another.
                verifierClient.Dispose();
            }
        }
        using var verifierClientLifetime = verifierClient;
        await using var agentLifetime = agent;

        var readyz = new Uri($"https://127.0.0.1:{port}/readyz");
        HttpResponseMessage response;
        for (var i = 0; ; i++)
        {
            response = await verifierClient.GetAsync(readyz);
            if (response.StatusCode != HttpStatusCode.OK || i == 100)
                break;
            response.Dispose();
            await Task.Delay(100);
        }
        using (response)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
            Assert.Equal($"registration: the registrar refused this agent for good: register agent {id}: 409 agent registered with a different EK: "
                + $"agent {id} is registered with a different EK; delete its registration first", problem!.Detail);
        }
    }
}
