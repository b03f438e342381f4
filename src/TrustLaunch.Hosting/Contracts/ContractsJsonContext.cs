using System.Text.Json.Serialization;
using TrustLaunch.Measurement;

namespace TrustLaunch.Hosting.Contracts;

/// <summary>
/// Source-generated JSON for every wire contract (snake_case members, AOT-safe), read strictly: a null for a
/// non-nullable member, or a missing constructor parameter without a default, is refused naming the member.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    UseStringEnumConverter = true,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(AgentRegistration))]
[JsonSerializable(typeof(CredentialChallenge))]
[JsonSerializable(typeof(ActivationProof))]
[JsonSerializable(typeof(RegisteredAgent))]
[JsonSerializable(typeof(IReadOnlyList<RegisteredAgent>))]
[JsonSerializable(typeof(QuoteEvidence))]
[JsonSerializable(typeof(AgentInfo))]
[JsonSerializable(typeof(MeasureRequest))]
[JsonSerializable(typeof(MeasuredEvent))]
[JsonSerializable(typeof(IReadOnlyList<CelRecord>))]
[JsonSerializable(typeof(AddAgentRequest))]
[JsonSerializable(typeof(AgentPolicyUpdate))]
[JsonSerializable(typeof(AgentStatus))]
[JsonSerializable(typeof(AgentAppraisal))]
[JsonSerializable(typeof(IReadOnlyList<AgentStatus>))]
[JsonSerializable(typeof(PolicyDocument))]
[JsonSerializable(typeof(StoredPolicy))]
[JsonSerializable(typeof(IReadOnlyList<StoredPolicy>))]
[JsonSerializable(typeof(AttestationResultRecord))]
[JsonSerializable(typeof(IReadOnlyList<AttestationResultRecord>))]
[JsonSerializable(typeof(IReadOnlyList<VerifiedLaunch>))]
[JsonSerializable(typeof(IReadOnlyList<VerifierInstanceStatus>))]
[JsonSerializable(typeof(IReadOnlyList<OutboxEntryStatus>))]
[JsonSerializable(typeof(ImageAttestationRequest))]
[JsonSerializable(typeof(ImageAttestationDecision))]
[JsonSerializable(typeof(RevocationNotification))]
[JsonSerializable(typeof(AttestationChallenge))]
[JsonSerializable(typeof(PushAttestationResult))]
[JsonSerializable(typeof(AgentProblem))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
public sealed partial class ContractsJsonContext : JsonSerializerContext;
