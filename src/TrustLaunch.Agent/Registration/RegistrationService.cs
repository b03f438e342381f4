using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Agent.Registration;

/// <summary>
/// Registers the agent with the registrar at start: EK, EK certificate, AK and TLS certificate in, a MakeCredential
/// challenge out, answered with ActivateCredential and proof = HMAC-SHA256(credential, UTF-8 agent id). Retries with
/// exponential back-off while the registrar is unreachable or failing (5xx); a refusal (4xx) is logged and final.
/// </summary>
public sealed class RegistrationService(AgentRuntime agent, TlsIdentity tls, RegistrarClient registrar, ILogger<RegistrationService> logger)
    : BackgroundService
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the registrar has activated this agent.</summary>
    public Task Registered => _registered.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = FirstRetry;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await RegisterAsync(stoppingToken).ConfigureAwait(false);
                logger.LogInformation("Agent {AgentId} registered and activated with the registrar", agent.Options.AgentId);
                _registered.TrySetResult();
                return;
            }
            catch (ServiceProblemException e) when (e.Status is >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError)
            {
                logger.LogError("The registrar refused agent {AgentId}: {Error}", agent.Options.AgentId, e.Message);
                _registered.TrySetException(e);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Registration attempt {Attempt} of agent {AgentId} failed ({Error}); retrying in {Delay}",
                    attempt, agent.Options.AgentId, e.Message, delay);
            }
            await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetry.Ticks));
        }
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var keys = agent.Tpm.Keys;
        var registration = new AgentRegistration(keys.EkPublic.ToTpm2bPublic(), keys.EkCertificate, keys.AkPublic.ToTpm2bPublic(),
            tls.Certificate.ExportCertificatePem(), agent.Options.EffectiveAdvertisedAddress);
        var challenge = await registrar.RegisterAsync(agent.Options.AgentId, registration, cancellationToken).ConfigureAwait(false);
        var credential = await agent.Tpm.ActivateCredentialAsync(challenge.CredentialBlob, challenge.EncryptedSecret, cancellationToken).ConfigureAwait(false);
        byte[] proof;
        try
        {
            proof = RegistrarClient.ComputeProof(credential, agent.Options.AgentId);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(credential);
        }
        await registrar.ActivateAsync(agent.Options.AgentId, new ActivationProof(proof), cancellationToken).ConfigureAwait(false);
    }
}
