// imap_receipt.cpp: find, rescue, flag and file one received warmup message.
#include "net/imap_receipt.hpp"

namespace warmup::net {

mail_result<receipt_outcome> process_receipt(imap_session& session, const std::string& message_id,
                                             const receipt_actions& actions) {
  receipt_outcome out;
  auto found = session.find_message(message_id);
  if (!found)
    return found.error();
  if (!*found)
    return out;
  auto folders = session.folders();
  if (!folders)
    return folders.error();
  out.folder = (*found)->folder;
  out.uid = (*found)->uid;
  out.where = out.folder == folders->junk ? receipt_outcome::found_in::junk
                                          : receipt_outcome::found_in::inbox;
  if (actions.rescue && out.where == receipt_outcome::found_in::junk) {
    auto uid = session.move(out.folder, out.uid, folders->inbox);
    if (!uid)
      return uid.error();
    out.folder = folders->inbox;
    out.uid = *uid;
    out.rescued = true;
    if (out.uid == 0) {
      // no COPYUID: find it again rather than flag a UID that no longer exists
      auto again = session.search_message_id(out.folder, message_id);
      if (!again)
        return again.error();
      out.uid = again->empty() ? 0 : again->back();
    }
  }
  std::vector<std::string> flags;
  if (actions.read)
    flags.push_back("\\Seen");
  if (actions.star || actions.important)
    flags.push_back("\\Flagged");
  if (!flags.empty() && out.uid != 0)
    if (auto st = session.store_flags(out.folder, out.uid, flags); !st)
      return st.error();
  if (!actions.file_into.empty() && out.uid != 0) {
    auto target = session.full_name(actions.file_into);
    if (!target)
      return target.error();
    if (auto made = session.ensure_folder(*target); !made)
      return made.error();
    auto uid = session.move(out.folder, out.uid, *target);
    if (!uid)
      return uid.error();
    out.folder = *target;
    out.uid = *uid;
    out.filed = true;
  }
  return out;
}

}  // namespace warmup::net
