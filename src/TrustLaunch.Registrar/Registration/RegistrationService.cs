using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Registrar.Storage;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Registrar.Registration;

/// <summary>
/// Registration and activation: checks what an agent presents, seals a fresh 32-byte credential to its EK bound to
/// its AK name (MakeCredential), and activates it when the agent proves it could unseal it:
/// proof = <see cref="RegistrarClient.ComputeProof"/> (HMAC-SHA256 under the credential over the agent id and the
/// TLS certificate's hash). Only SHA-256 of the expected proof is stored; the credential is wiped once sealed.
/// A re-registration waits beside the active record until proven, then replaces it.
/// </summary>
public sealed partial class RegistrationService(IRegistrarStore store, RegistrarOptions options, RegistrarMetrics metrics, ILogger<RegistrationService> logger)
{
    public const int CredentialSize = 32;
    public const string WrongProof = "the activation proof does not match the credential challenge";

    public async Task<CredentialChallenge> RegisterAsync(string agentId, AgentRegistration registration, CancellationToken cancellationToken)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(registration);
            RegistrationChecks.AgentId(agentId);
            var ek = RegistrationChecks.Ek(registration.EkPublic);
            RegistrationChecks.EkCertificate(registration.EkCertificate, ek, options.EkCa, options.RequireEkCertificate);
            var ak = RegistrationChecks.Ak(registration.AkPublic);
            RegistrationChecks.TlsCertificate(registration.TlsCertificate, options.Tls.Trust);

            var credential = RandomNumberGenerator.GetBytes(CredentialSize);
            try
            {
                MadeCredential made;
                try
                {
                    made = CredentialMaker.Make(ek, ak.ComputeName(), credential);
                }
                catch (ArgumentException e)
                {
                    throw RegistrationChecks.BadRequest("invalid EK", e.Message);
                }
                var agent = new RegisteredAgent(agentId, registration.EkPublic, registration.EkCertificate, registration.AkPublic,
                    registration.TlsCertificate, registration.Address, Active: false, DateTimeOffset.UtcNow, ActivatedAt: null);
                var proofDigest = SHA256.HashData(RegistrarClient.ComputeProof(credential, agentId, registration.TlsCertificate));
                var outcome = await store.RegisterAsync(agent, proofDigest, cancellationToken).ConfigureAwait(false);
                if (outcome == RegisterOutcome.KeysDiffer)
                    throw new RegistrationRefusedException(StatusCodes.Status409Conflict, "agent registered with a different EK",
                        $"agent {agentId} is registered with a different EK; delete its registration first");
                metrics.Registered(outcome);
                LogRegistered(logger, agentId, outcome);
                return new CredentialChallenge(made.CredentialBlob, made.EncryptedSecret);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(credential);
            }
        }
        catch (RegistrationRefusedException e)
        {
            metrics.Refused("register", e.StatusCode);
            LogRefused(logger, agentId, "registration", e.Detail);
            throw;
        }
    }

    public async Task ActivateAsync(string agentId, ActivationProof proof, CancellationToken cancellationToken)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(proof);
            var record = await store.GetAsync(agentId, cancellationToken).ConfigureAwait(false)
                ?? throw new RegistrationRefusedException(StatusCodes.Status404NotFound, "unknown agent", $"agent {agentId} is not registered");
            if (record.Pending is not { } pending)
                throw new RegistrationRefusedException(StatusCodes.Status409Conflict, "no pending challenge",
                    $"agent {agentId} has no pending credential challenge (already active): register again for a new one");
            var digest = SHA256.HashData(proof.Proof ?? []);
            if (!CryptographicOperations.FixedTimeEquals(digest, pending.ProofDigest))
                throw new RegistrationRefusedException(StatusCodes.Status403Forbidden, "activation refused", WrongProof);
            if (!await store.ActivateAsync(agentId, digest, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false))
                throw new RegistrationRefusedException(StatusCodes.Status409Conflict, "no pending challenge",
                    $"agent {agentId} registered again while activating: answer the new challenge");
            metrics.Activated();
            LogActivated(logger, agentId);
        }
        catch (RegistrationRefusedException e)
        {
            metrics.Refused("activate", e.StatusCode);
            LogRefused(logger, agentId, "activation", e.Detail);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "agent {AgentId} registered ({Outcome}); credential challenge issued")]
    private static partial void LogRegistered(ILogger logger, string agentId, RegisterOutcome outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "agent {AgentId} activated")]
    private static partial void LogActivated(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "agent {AgentId} {Operation} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string agentId, string operation, string reason);
}
