// receive_flow.cpp: the receiving flow of one warmup message over IMAP.
#include "net/receive_flow.hpp"

#include <utility>

namespace warmup::net {

mail_result<receive_outcome> process_warmup_message(imap_session& s,
                                                    const std::string& message_id,
                                                    const engagement_plan& plan,
                                                    const receive_flow_options& opts) {
  receive_outcome out;
  auto folders = s.folders();
  if (!folders)
    return folders.error();
  auto found = s.find_message(message_id);
  if (!found)
    return found.error();
  if (!found->has_value())
    return out;   // missing: not delivered (yet), or deleted by the server
  auto loc = std::move(**found);
  const bool in_spam = loc.folder != folders->inbox;
  out.where = in_spam ? found_in::spam : found_in::inbox;
  if (in_spam && !plan.rescue) {
    // Left where the filter put it, like a person who never looks at Junk.
    out.folder = loc.folder;
    out.uid = loc.uid;
    return out;
  }
  if (in_spam) {
    auto moved = s.move(loc.folder, loc.uid, folders->inbox);
    if (!moved)
      return moved.error();
    out.rescued = true;
    loc = {folders->inbox, *moved};
  }
  // Flags go on the UID the message has now; after a move without COPYUID it is unknown,
  // so it is looked up again rather than flagged blindly on the old UID.
  if (loc.uid == 0) {
    auto uids = s.search_message_id(loc.folder, message_id);
    if (!uids)
      return uids.error();
    if (!uids->empty())
      loc.uid = uids->back();
  }
  std::vector<std::string> flags;
  if (plan.read)
    flags.emplace_back("\\Seen");
  if (plan.star || plan.important)
    flags.emplace_back("\\Flagged");
  if (!flags.empty() && loc.uid != 0) {
    if (auto st = s.store_flags(loc.folder, loc.uid, flags); !st)
      return st.error();
  }
  if (opts.file_messages && loc.uid != 0) {
    auto target = s.full_name(opts.warmup_folder);
    if (!target)
      return target.error();
    if (auto st = s.ensure_folder(*target); !st)
      return st.error();
    auto moved = s.move(loc.folder, loc.uid, *target);
    if (!moved)
      return moved.error();
    out.filed = true;
    loc = {*target, *moved};
  }
  out.folder = loc.folder;
  out.uid = loc.uid;
  return out;
}

}  // namespace warmup::net
