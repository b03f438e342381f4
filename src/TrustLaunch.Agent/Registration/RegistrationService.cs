using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Hosting.Web;

namespace TrustLaunch.Agent.Registration;

/// <summary>
/// Registers the agent with the registrar at start: EK, EK certificate, AK and TLS certificate in, a MakeCredential
/// challenge out, answered with ActivateCredential and <see cref="RegistrarClient.ComputeProof"/> (which covers the
/// TLS certificate registered). Retries with exponential back-off while the registrar is unreachable or failing (5xx,
/// 408, 429) and when its challenge was superseded before the proof arrived; any other refusal (4xx) is logged and
/// final, and <c>/readyz</c> then answers not ready with the registrar's reason.
/// </summary>
public sealed class RegistrationService(AgentRuntime agent, TlsIdentity tls, RegistrarClient registrar, ILogger<RegistrationService> logger)
    : BackgroundService, IReadinessCheck
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _refusal;

    /// <summary>Completes when the registrar has activated this agent.</summary>
    public Task Registered => _registered.Task;

    public string Name => "registration";

    public Task<string?> CheckAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_refusal is { } refusal ? $"the registrar refused this agent for good: {refusal}" : null);

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
            catch (ServiceProblemException e) when (IsFinal(e.Status))
            {
                logger.LogError("The registrar refused agent {AgentId}: {Error}", agent.Options.AgentId, e.Message);
                _refusal = e.Message;
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

    private static bool IsFinal(HttpStatusCode status) =>
        status is >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError and not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var keys = agent.Tpm.Keys;
        var tlsPem = tls.Certificate.ExportCertificatePem();
        var registration = new AgentRegistration(keys.EkPublic.ToTpm2bPublic(), keys.EkCertificate, keys.AkPublic.ToTpm2bPublic(),
            tlsPem, agent.Options.EffectiveAdvertisedAddress);
        var challenge = await registrar.RegisterAsync(agent.Options.AgentId, registration, cancellationToken).ConfigureAwait(false);
        var credential = await agent.Tpm.ActivateCredentialAsync(challenge.CredentialBlob, challenge.EncryptedSecret, cancellationToken).ConfigureAwait(false);
        byte[] proof;
        try
        {
            proof = RegistrarClient.ComputeProof(credential, agent.Options.AgentId, tlsPem);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(credential);
        }
        try
        {
            await registrar.ActivateAsync(agent.Options.AgentId, new ActivationProof(proof), cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceProblemException e) when (e.Status is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Another registration of this id (or a delete) replaced our challenge before the proof: register again.
            throw new ChallengeSupersededException(e.Message, e);
        }
    }

    private sealed class ChallengeSupersededException(string message, Exception inner) : Exception(message, inner);
}
