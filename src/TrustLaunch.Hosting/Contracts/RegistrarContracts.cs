namespace TrustLaunch.Hosting.Contracts;

// Registrar wire format. Agent port (8890, TLS):
//   POST /v1/agents/{id}            AgentRegistration  -> 200 CredentialChallenge | 409 active with another EK | 400/403 bad EK/AK
//   POST /v1/agents/{id}/activate   ActivationProof    -> 204 | 403 wrong proof | 404 | 409 no pending challenge
// Management port (8891, mTLS):
//   GET /v1/agents -> RegisteredAgent[];  GET /v1/agents/{id} -> RegisteredAgent;  DELETE /v1/agents/{id} -> 204
// Binary fields are base64 (System.Text.Json's byte[] form); errors are RFC 7807 problem details.

/// <summary>
/// What an agent registers: its EK and AK as TPM2B_PUBLIC, the EK certificate (DER) when the TPM has one, the PEM
/// certificate it serves mTLS with (bound to this registration), and where the verifier can reach it (host:port).
/// </summary>
public sealed record AgentRegistration(
    byte[] EkPublic,
    byte[]? EkCertificate,
    byte[] AkPublic,
    string TlsCertificate,
    string? Address = null);

/// <summary>MakeCredential output bound to the AK name: the bodies (without their u16 size) of TPM2B_ID_OBJECT and
/// TPM2B_ENCRYPTED_SECRET, as <c>TpmDevice.ActivateCredentialAsync</c> takes them.</summary>
public sealed record CredentialChallenge(byte[] CredentialBlob, byte[] EncryptedSecret);

/// <summary>Proof of activation: HMAC-SHA256 keyed with the activated credential over the UTF-8 agent id, a zero byte
/// and SHA-256 of the registered TLS certificate's DER (<c>RegistrarClient.ComputeProof</c>).</summary>
public sealed record ActivationProof(byte[] Proof);

/// <summary>A registration as the registrar holds it; <c>Active</c> once the credential challenge was answered.</summary>
public sealed record RegisteredAgent(
    string AgentId,
    byte[] EkPublic,
    byte[]? EkCertificate,
    byte[] AkPublic,
    string TlsCertificate,
    string? Address,
    bool Active,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? ActivatedAt);
