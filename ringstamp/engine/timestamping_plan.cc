#include "ringstamp/engine/timestamping_plan.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringstamp/common/absl_compat.h"
#include "ringstamp/common/status_macros.h"

namespace ringstamp {

absl::StatusOr<TstampMode> ParseTstampMode(std::string_view text) {
  if (text == "auto") return TstampMode::kAuto;
  if (text == "hardware" || text == "hw") return TstampMode::kHardware;
  if (text == "software" || text == "sw") return TstampMode::kSoftware;
  return absl::InvalidArgumentError(absl::StrFormat(
      "--tstamp: '%s' is not a timestamp mode; use auto, hardware or software", ToAbsl(text)));
}

std::string_view TstampModeName(TstampMode mode) {
  switch (mode) {
    case TstampMode::kAuto:
      return "auto";
    case TstampMode::kHardware:
      return "hardware";
    case TstampMode::kSoftware:
      return "software";
  }
  return "?";
}

absl::StatusOr<TimestampingPlan> PlanTimestamping(std::string_view ifname, TstampMode mode, bool rx,
                                                  bool tx) {
  TimestampingPlan plan;
  plan.mode = mode;
  plan.software_rx = rx;  // what the caller will ask of its sockets
  plan.software_tx = tx;
  const std::string name(ifname);
  if (mode == TstampMode::kSoftware) {
    plan.note =
        absl::StrCat(name, ": software timestamps (as asked); the NIC's config is untouched");
    return plan;
  }
  auto hw = HwTimestamping::Open(ifname);
  if (!hw.ok()) return hw.status();
  auto info = hw->GetTsInfo();
  const bool can_rx = info.ok() && info->HasHardwareRx();
  const bool can_tx = info.ok() && info->HasHardwareTx();
  if ((!rx || !can_rx) && (!tx || !can_tx)) {
    const std::string why = info.ok()
                                ? absl::StrCat("driver ", hw->driver().empty() ? "?" : hw->driver(),
                                               " reports no hardware timestamping")
                                : std::string(info.status().message());
    if (mode == TstampMode::kHardware) {
      return absl::FailedPreconditionError(absl::StrCat(
          name, ": --tstamp hardware asked, but ", why,
          "; use --tstamp software or auto, or a NIC with hardware timestamps (`ringstamp info -i ",
          name, "`)"));
    }
    plan.note = absl::StrCat(name, ": software timestamps (", why, ")");
    return plan;
  }
  HwTstampRequest req{.rx_filter = rx && can_rx ? kHwRxAll : kHwRxNone, .tx = tx && can_tx};
  auto neg = hw->Negotiate(req);
  if (!neg.ok()) {
    if (mode == TstampMode::kHardware) return neg.status();
    plan.note = absl::StrCat(name, ": software timestamps (", neg.status().message(), ")");
    return plan;
  }
  if (mode == TstampMode::kHardware && rx && !neg->hardware_rx() && !(tx && neg->hardware_tx())) {
    return neg->RequireHardware();
  }
  plan.hardware_rx = rx && neg->hardware_rx();
  plan.hardware_tx = tx && neg->hardware_tx();
  plan.note = neg->note;
  plan.negotiation = std::move(*neg);
  if (!plan.hardware_rx && !plan.hardware_tx) return plan;
  PhcCheck check;
  std::shared_ptr<Phc> phc;
  if (info->phc_index < 0) {
    check.open = absl::NotFoundError(
        absl::StrCat("driver ", hw->driver().empty() ? "?" : hw->driver(), " names none"));
  } else if (absl::StatusOr<Phc> opened = Phc::OpenForInterface(*hw); opened.ok()) {
    phc = std::make_shared<Phc>(std::move(*opened));
    check.path = phc->path();
    check.offset = phc->MeasureOffset();
    if (check.offset.ok()) check.frozen = phc->IsFrozen();
  } else {
    check.open = opened.status();
  }
  RS_RETURN_IF_ERROR(ApplyPhcCheck(plan, ifname, check));
  if (plan.hardware_rx || plan.hardware_tx) {
    plan.phc_map = std::make_shared<PhcClockMap>();
    plan.phc_map->Update(*plan.phc_offset);
    plan.phc_tracker = PhcClockTracker::Start([phc] { return phc->MeasureOffset(); }, plan.phc_map);
  }
  return plan;
}

absl::Status ApplyPhcCheck(TimestampingPlan& plan, std::string_view ifname, const PhcCheck& check) {
  if (!plan.hardware_rx && !plan.hardware_tx) return absl::OkStatus();
  plan.phc_path = check.path;
  std::string why;
  if (!check.open.ok()) {
    why = std::string(check.open.message());
  } else if (!check.offset.ok()) {
    why = absl::StrCat("cannot measure it against system time: ", check.offset.status().message());
  } else {
    plan.phc_offset = *check.offset;
    if (!check.frozen.ok()) {
      why = absl::StrCat("cannot read it: ", check.frozen.status().message());
    } else if (*check.frozen) {
      plan.phc_frozen = true;
      why = absl::StrCat(check.path, " is not advancing");
    }
  }
  if (why.empty()) return absl::OkStatus();
  const std::string line =
      absl::StrCat(ToAbsl(ifname),
                   ": software timestamps: no PTP hardware clock to map hardware stamps to "
                   "system time (",
                   why, ")");
  if (plan.mode == TstampMode::kHardware) {
    return absl::FailedPreconditionError(
        absl::StrCat(line, "; --tstamp hardware needs one: use --tstamp auto or software"));
  }
  plan.hardware_rx = false;
  plan.hardware_tx = false;
  plan.note = line;  // replaces the "hardware stamps on" note: it no longer holds
  if (plan.negotiation.restorer) {
    absl::Status s = plan.negotiation.restorer->Restore();
    if (!s.ok())
      absl::StrAppend(&plan.note, " (restoring the NIC's config failed: ", s.message(), ")");
  }
  return absl::OkStatus();
}

std::string_view ObservedRxSource(const TimestampingPlan& plan, uint64_t frames,
                                  uint64_t hw_missing) {
  if (!plan.hardware_rx || frames == 0) return "software";
  if (hw_missing == 0) return "hardware";
  if (hw_missing >= frames) return "software";
  return "mixed";
}

std::optional<std::string> AutoFallBackIfNoHardware(TimestampingPlan& plan, std::string_view ifname,
                                                    uint64_t frames, uint64_t hw_missing,
                                                    uint64_t min_frames) {
  if (plan.mode != TstampMode::kAuto || !plan.hardware_rx || frames < min_frames ||
      hw_missing < frames) {
    return std::nullopt;
  }
  plan.hardware_rx = false;
  plan.hardware_tx = false;
  std::string note = absl::StrCat(
      ToAbsl(ifname), ": auto: the NIC was set for hardware stamps but none of the first ", frames,
      " frames carried one; using software stamps and restoring the NIC's previous config");
  if (plan.negotiation.restorer) {
    absl::Status s = plan.negotiation.restorer->Restore();
    if (!s.ok()) absl::StrAppend(&note, " (restore failed: ", s.message(), ")");
  }
  return note;
}

}  // namespace ringstamp
