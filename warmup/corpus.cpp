// corpus.cpp: the shipped English fragments of warmup mail: topics, subject templates and
// the pieces of opening and reply bodies. Plain everyday business and small talk; nothing
// a spam filter or a rule could key on (no tags, no sales words, no "warm up").
#include "warmup/corpus.hpp"

#include <array>

namespace warmup::corpus {

namespace {

using sv = std::string_view;

// Topics read naturally after "about", "on", "for" and at the start of a subject.
constexpr std::array topics = {
  sv{"the budget review"}, sv{"the quarterly report"}, sv{"the Q3 forecast"},
  sv{"the Q4 planning"}, sv{"next year's roadmap"}, sv{"the project timeline"},
  sv{"the kickoff meeting"}, sv{"Thursday's call"}, sv{"Monday's check-in"},
  sv{"the weekly sync"}, sv{"the team offsite"}, sv{"the office move"},
  sv{"the new supplier"}, sv{"the vendor shortlist"}, sv{"the hiring plan"},
  sv{"the interview schedule"}, sv{"the onboarding checklist"}, sv{"the training session"},
  sv{"the workshop agenda"}, sv{"the client presentation"}, sv{"the slide deck"},
  sv{"the draft proposal"}, sv{"the contract renewal"}, sv{"the service agreement"},
  sv{"the product launch"}, sv{"the launch checklist"}, sv{"the release notes"},
  sv{"the website refresh"}, sv{"the homepage copy"}, sv{"the newsletter draft"},
  sv{"the blog post"}, sv{"the case study"}, sv{"the customer survey"},
  sv{"the survey results"}, sv{"the user interviews"}, sv{"the research summary"},
  sv{"the design mockups"}, sv{"the style guide"}, sv{"the brand guidelines"},
  sv{"the logo options"}, sv{"the trade show"}, sv{"the conference booth"},
  sv{"the panel discussion"}, sv{"the speaker list"}, sv{"the event logistics"},
  sv{"the travel plans"}, sv{"the hotel booking"}, sv{"the train tickets"},
  sv{"the team lunch"}, sv{"Friday's lunch"}, sv{"the holiday schedule"},
  sv{"the vacation calendar"}, sv{"the shift rota"}, sv{"the on-call schedule"},
  sv{"the support backlog"}, sv{"the ticket queue"}, sv{"the bug report"},
  sv{"the test plan"}, sv{"the staging setup"}, sv{"the server migration"},
  sv{"the database upgrade"}, sv{"the backup policy"}, sv{"the security review"},
  sv{"the access request"}, sv{"the laptop refresh"}, sv{"the printer issue"},
  sv{"the meeting room booking"}, sv{"the parking arrangements"}, sv{"the office plants"},
  sv{"the coffee machine"}, sv{"the kitchen rota"}, sv{"the fire drill"},
  sv{"the floor plan"}, sv{"the seating chart"}, sv{"the inventory count"},
  sv{"the stock levels"}, sv{"the shipping schedule"}, sv{"the delivery dates"},
  sv{"the warehouse visit"}, sv{"the site visit"}, sv{"the factory tour"},
  sv{"the partner meeting"}, sv{"the board update"}, sv{"the investor update"},
  sv{"the annual review"}, sv{"the performance reviews"}, sv{"the team goals"},
  sv{"the OKRs"}, sv{"the KPI dashboard"}, sv{"the monthly metrics"},
  sv{"the sales pipeline"}, sv{"the account plan"}, sv{"the renewal list"},
  sv{"the partner program"}, sv{"the referral list"}, sv{"the pricing page"},
  sv{"the FAQ page"}, sv{"the help center articles"}, sv{"the documentation update"},
  sv{"the API docs"}, sv{"the integration guide"}, sv{"the migration guide"},
  sv{"the data export"}, sv{"the spreadsheet"}, sv{"the shared folder"},
  sv{"the project wiki"}, sv{"the meeting notes"}, sv{"the action items"},
  sv{"the follow-up tasks"}, sv{"the open questions"}, sv{"the risk log"},
  sv{"the change request"}, sv{"the scope change"}, sv{"the budget split"},
  sv{"the expense reports"}, sv{"the travel expenses"}, sv{"the purchase request"},
  sv{"the equipment list"}, sv{"the software licences"}, sv{"the tool evaluation"},
  sv{"the pilot project"}, sv{"the proof of concept"}, sv{"the prototype"},
  sv{"the demo day"}, sv{"the hackathon"}, sv{"the lunch and learn"},
  sv{"the book club"}, sv{"the running group"}, sv{"the charity walk"},
  sv{"the volunteer day"}, sv{"the summer party"}, sv{"the end-of-year dinner"},
  sv{"the farewell card"}, sv{"the welcome breakfast"}, sv{"the anniversary plans"},
  sv{"the photo shoot"}, sv{"the video script"}, sv{"the podcast episode"},
  sv{"the webinar outline"}, sv{"the social media plan"}, sv{"the content calendar"},
  sv{"the editorial plan"}, sv{"the press release"}, sv{"the media list"},
  sv{"the translation work"}, sv{"the Spanish version"}, sv{"the German edition"},
  sv{"the print run"}, sv{"the brochure layout"}, sv{"the poster design"},
  sv{"the packaging samples"}, sv{"the product photos"}, sv{"the catalogue update"},
  sv{"the quality checks"}, sv{"the audit preparation"}, sv{"the compliance checklist"},
  sv{"the policy update"}, sv{"the handbook changes"}, sv{"the team structure"},
  sv{"the reporting lines"}, sv{"the mentoring program"}, sv{"the internship program"},
  sv{"the graduate intake"}, sv{"the job description"}, sv{"the candidate feedback"},
  sv{"the reference checks"}, sv{"the relocation plans"}, sv{"the new office"},
  sv{"the lease renewal"}, sv{"the building works"}, sv{"the lift maintenance"},
  sv{"the heating schedule"}, sv{"the cleaning rota"}, sv{"the recycling plan"},
  sv{"the sustainability report"}, sv{"the energy audit"}, sv{"the cycle scheme"},
  sv{"the wellbeing week"}, sv{"the team photo"}, sv{"the quiz night"},
  sv{"the regional meeting"}, sv{"the all-hands"}, sv{"the town hall questions"},
  sv{"the roadmap review"}, sv{"the sprint review"}, sv{"the retro notes"},
  sv{"the planning poker"}, sv{"the estimates"}, sv{"the capacity plan"},
  sv{"the resourcing plan"}, sv{"the handover notes"}, sv{"the transition plan"},
  sv{"the rollout plan"}, sv{"the customer feedback"}, sv{"the feature requests"},
  sv{"the support macros"}, sv{"the escalation process"}, sv{"the service levels"},
  sv{"the status page"}, sv{"the incident review"}, sv{"the postmortem"},
  sv{"the monitoring alerts"}, sv{"the dashboard layout"}, sv{"the report template"},
  sv{"the presentation template"}, sv{"the email signature"}, sv{"the team calendar"},
};

constexpr std::array subject_templates = {
  sv{"Quick question about {t}"}, sv{"Following up on {t}"}, sv{"Thoughts on {t}?"},
  sv{"A few notes on {t}"}, sv{"Update on {t}"}, sv{"{T}"},
  sv{"{T} - quick update"}, sv{"{T}: next steps"}, sv{"Checking in about {t}"},
  sv{"Can we talk about {t}?"}, sv{"Your input on {t}"}, sv{"{T} this week"},
  sv{"Feedback on {t}"}, sv{"About {t}"}, sv{"Question on {t}"},
  sv{"Small change to {t}"}, sv{"Heads up on {t}"}, sv{"Reminder about {t}"},
  sv{"Timing for {t}"}, sv{"Status of {t}"}, sv{"Help with {t}?"},
  sv{"Before we finalise {t}"}, sv{"One more thing about {t}"}, sv{"Notes on {t}"},
  sv{"{T} - your view?"}, sv{"{T} for next week"}, sv{"Catching up on {t}"},
  sv{"Draft notes: {t}"}, sv{"Ideas for {t}"}, sv{"Plan for {t}"},
  sv{"Next steps for {t}"}, sv{"{T} (when you have a minute)"}, sv{"Sharing {t}"},
  sv{"Re-reading {t}"}, sv{"Small question on {t}"}, sv{"Comments on {t}"},
  sv{"{T} - a couple of points"}, sv{"Where are we with {t}?"}, sv{"Looping back on {t}"},
  sv{"Agenda item: {t}"}, sv{"Picking up {t}"}, sv{"Update: {t}"},
  sv{"Any news on {t}?"}, sv{"{T} - Thursday?"}, sv{"{T} - Monday?"},
  sv{"Short note on {t}"}, sv{"{T} and timing"}, sv{"Changes to {t}"},
  sv{"Review of {t}"}, sv{"{T} follow-up"}, sv{"Quick one on {t}"},
  sv{"Summary of {t}"}, sv{"Proposal for {t}"}, sv{"Questions about {t}"},
  sv{"Following our chat about {t}"}, sv{"{T}, as discussed"}, sv{"Your thoughts on {t}"},
  sv{"{T} - a quick thought"}, sv{"Small update on {t}"}, sv{"Pinging you about {t}"},
};

constexpr std::array greetings = {
  sv{"Hi {first},"}, sv{"Hello {first},"}, sv{"Hey {first},"}, sv{"Good morning {first},"},
  sv{"{first},"}, sv{"Hi {first}!"}, sv{"Dear {first},"}, sv{"Morning {first},"},
  sv{"Hi there {first},"}, sv{"Hello again {first},"},
};

constexpr std::array openers = {
  sv{"Hope your week is going well."}, sv{"I hope you had a good weekend."},
  sv{"Thanks again for your help yesterday."}, sv{"Hope things are calm on your side."},
  sv{"Hope you are doing well."}, sv{"Good to catch you at the meeting earlier."},
  sv{"Thanks for the quick call this morning."}, sv{"I hope the trip went smoothly."},
  sv{"Hope the new week started well for you."}, sv{"Thanks for sending the notes over."},
  sv{"I know it's a busy week, so I'll keep this short."},
  sv{"It was nice to see everyone on Tuesday."}, sv{"Hope you managed to get some rest."},
  sv{"Thanks for being so patient with this one."}, sv{"I hope this finds you well."},
  sv{"Following on from our conversation last week."},
  sv{"Just got back to my desk after lunch."}, sv{"Hope the weather is better where you are."},
  sv{"Sorry for the slow reply on my part."}, sv{"Thanks for flagging this earlier."},
  sv{"I finally had a proper look this morning."}, sv{"Hope the move is going well."},
  sv{"Great to hear the presentation went well."}, sv{"Thanks for the kind words yesterday."},
  sv{"I wanted to get this to you before the weekend."},
  sv{"Hope the team is settling in."}, sv{"It was good to chat at the coffee machine."},
  sv{"Thanks for your patience while I sorted this out."},
};

constexpr std::array topic_lines = {
  sv{"I wanted to follow up on {t}."},
  sv{"I've been looking at {t} and have a couple of thoughts."},
  sv{"Quick note about {t}."}, sv{"I had another look at {t} today."},
  sv{"A short update on {t}."}, sv{"Could we go over {t} together at some point?"},
  sv{"I've made a start on {t}."}, sv{"I went through {t} with the team this morning."},
  sv{"I'm picking up {t} from where we left it."},
  sv{"I've been thinking about {t} since our last chat."},
  sv{"I wanted to check where we are with {t}."},
  sv{"Here is where I got to with {t}."}, sv{"There is some movement on {t}."},
  sv{"I've put together a few notes on {t}."}, sv{"I'd like your view on {t}."},
  sv{"I just finished reading through {t}."}, sv{"Thanks for sharing {t} last week."},
  sv{"We talked briefly about {t} on Monday."},
  sv{"Someone asked me about {t} this morning, so I had a look."},
  sv{"I've tidied up {t} a little."}, sv{"I need a second pair of eyes on {t}."},
  sv{"Good news on {t}."}, sv{"Small update on {t} before I forget."},
  sv{"I've been asked to help out with {t}."},
  sv{"I'd like to close the loop on {t}."}, sv{"Can I pick your brain about {t}?"},
  sv{"I spent some time on {t} yesterday."}, sv{"I'm writing up {t} this week."},
  sv{"We are nearly there with {t}."}, sv{"I've got a first version of {t}."},
};

constexpr std::array details = {
  sv{"I think we can keep the scope as it is and revisit it at the end of the month."},
  sv{"The main open point is the timing; everything else looks settled."},
  sv{"Most of it is in good shape, there are just two small things to tidy up."},
  sv{"I've left a few comments in the margin where I wasn't sure."},
  sv{"It should not take more than an hour or so to finish."},
  sv{"I spoke to Sam about it and he is happy with the direction."},
  sv{"Maria suggested we move it to next week, which would suit me too."},
  sv{"The numbers look about right, but I would like to double-check one line."},
  sv{"I moved the older material to the archive folder so it's easier to find things."},
  sv{"We could split it into two parts if that makes it easier."},
  sv{"Nothing is blocked at the moment, it's more about getting the order right."},
  sv{"I've kept the wording short so it's easy to skim."},
  sv{"The team liked the first version, so the changes are small."},
  sv{"There is one question from finance that I couldn't answer."},
  sv{"I put the latest version in the shared folder."},
  sv{"It ties in with what we discussed at the last check-in."},
  sv{"The second half still needs some work, but the outline is there."},
  sv{"I'm not fully sure about the dates, so treat them as a first guess."},
  sv{"I think we agreed on most points last time."},
  sv{"It looks like we have a bit more room than we thought."},
  sv{"The feedback so far has been positive."},
  sv{"There's no rush, but it would be good to settle it this month."},
  sv{"I added a short summary at the top for anyone new to it."},
  sv{"Alex mentioned he might be able to help with the last part."},
  sv{"The earlier plan still works if we shift it by a few days."},
  sv{"I'd rather keep things simple for now and add detail later."},
  sv{"We should probably check with the others before we commit."},
  sv{"I've lined up a couple of options so we can compare them."},
  sv{"The only change from last time is the order of the sections."},
  sv{"Priya had a good idea about how to structure it."},
  sv{"It's mostly done; I'm waiting on one or two details."},
  sv{"I've highlighted the parts that changed since the last version."},
  sv{"We might need to shorten it a little to fit the slot."},
  sv{"Let's aim to have it ready before the end of next week."},
  sv{"I don't think it affects the other work streams."},
  sv{"Tom asked whether we could include last year's figures as well."},
  sv{"The room is booked for the afternoon in case we need it."},
  sv{"I've kept a copy of the previous version just in case."},
  sv{"It reads much better after the last round of edits."},
  sv{"I left the formatting as it was to avoid confusion."},
  sv{"There are a few loose ends, nothing major."},
  sv{"Chris is out until Wednesday, so we can wait for him."},
  sv{"I think a short call would sort out the remaining questions."},
  sv{"It would help to have your notes before I send it round."},
  sv{"We can always adjust it once we see how the first week goes."},
  sv{"I've checked it against the notes from the workshop."},
  sv{"The draft is a bit long, so feel welcome to cut anything."},
  sv{"Most people seem happy with Tuesday or Wednesday."},
  sv{"I'll keep the list updated as things come in."},
  sv{"Hannah has the background if you need more context."},
};

constexpr std::array questions = {
  sv{"Would Thursday afternoon work for a short call?"},
  sv{"Could you take a look when you have a minute?"},
  sv{"Does that match what you had in mind?"},
  sv{"What do you think?"}, sv{"Any thoughts before I send it round?"},
  sv{"Is there anything I've missed?"}, sv{"Would you be able to review it this week?"},
  sv{"Shall we go through it on Monday?"}, sv{"Does the timing work for you?"},
  sv{"Do you have the latest numbers handy?"}, sv{"Can you let me know if that works?"},
  sv{"Would it help if I put together a short summary?"},
  sv{"Do you know who else should be involved?"},
  sv{"Are you around tomorrow morning?"}, sv{"Is it okay if I share it with the team?"},
  sv{"Could we find fifteen minutes this week?"},
  sv{"Would you rather keep it as it is?"}, sv{"Do you see any problems with that?"},
  sv{"Shall I set up a meeting?"}, sv{"Did you get a chance to look at it yet?"},
  sv{"Could you add your comments directly in the document?"},
  sv{"Would next Tuesday be too late?"}, sv{"Do you think we need another round?"},
  sv{"Can I count on your input by Friday?"}, sv{"Would you like to present it?"},
  sv{"Is the current version good enough for now?"},
  sv{"Any objections if we go ahead?"}, sv{"Should I loop in anyone else?"},
  sv{"Can we decide on it at the next sync?"}, sv{"How does that sound?"},
};

constexpr std::array closers = {
  sv{"Thanks!"}, sv{"Talk soon."}, sv{"No rush on this."}, sv{"Let me know what you think."},
  sv{"Thanks in advance."}, sv{"Happy to chat if easier."}, sv{"Have a good day."},
  sv{"Enjoy the rest of your week."}, sv{"Speak soon."}, sv{"Thanks for your help."},
  sv{"Have a nice evening."}, sv{"Much appreciated."}, sv{"Have a great weekend."},
  sv{"Thanks a lot."}, sv{""},
};

constexpr std::array sign_offs = {
  sv{"Best,"}, sv{"Thanks,"}, sv{"Cheers,"}, sv{"Best regards,"}, sv{"Kind regards,"},
  sv{"All the best,"}, sv{"Many thanks,"}, sv{"Speak soon,"}, sv{"Regards,"},
  sv{"Thank you,"}, sv{"Take care,"}, sv{"Talk soon,"},
};

constexpr std::array reply_greetings = {
  sv{"Hi {first},"}, sv{"Thanks {first},"}, sv{"Hey {first},"}, sv{"{first},"},
  sv{"Hello {first},"}, sv{""}, sv{""}, sv{""},
};

constexpr std::array answers = {
  sv{"Thanks, that works for me."}, sv{"Sounds good to me."},
  sv{"Good point, I'll take a look this afternoon."}, sv{"Thanks for the update."},
  sv{"Makes sense."}, sv{"Agreed, let's go with that."}, sv{"Thanks, this is helpful."},
  sv{"Great, thank you for pulling this together."}, sv{"Yes, that's fine by me."},
  sv{"Perfect, thanks."}, sv{"Looks good overall."}, sv{"Thanks for checking."},
  sv{"I had a quick look and it seems fine."}, sv{"That's a fair point."},
  sv{"Good idea."}, sv{"Thanks, I hadn't seen that yet."}, sv{"Sure, happy to help."},
  sv{"Sorry, only just seeing this."}, sv{"Thanks for the reminder."},
  sv{"I think that's the right call."}, sv{"Yes, let's do that."},
  sv{"Noted, thank you."}, sv{"Thanks for letting me know."},
  sv{"That sounds reasonable."}, sv{"Works for me."}, sv{"I'm happy with that."},
  sv{"Thanks, much clearer now."}, sv{"Good to hear."}, sv{"Fine with me."},
  sv{"Thanks, I agree with most of it."}, sv{"Glad this is moving."},
  sv{"Thanks for the heads up."}, sv{"I'll have a proper read later today."},
  sv{"Great news, thanks."}, sv{"That's really useful, thank you."},
  sv{"Understood."}, sv{"Nice work on this."}, sv{"All clear on my side."},
  sv{"Thanks, I'll pass it on."}, sv{"That should be fine."},
};

constexpr std::array follow_ups = {
  sv{"I'll send over my notes by tomorrow."}, sv{"Thursday afternoon is fine on my side."},
  sv{"I've added a few comments to the draft."}, sv{"Let's pick this up at the next check-in."},
  sv{"I'll check with the team and get back to you."}, sv{"Monday works better for me."},
  sv{"I'll update the document later today."}, sv{"Happy to jump on a call if needed."},
  sv{"I'll book a room for us."}, sv{"One small thing: can we keep the old title?"},
  sv{"I'll share it with the others once it's ready."},
  sv{"I might be a few minutes late, but go ahead without me."},
  sv{"Let me know if you need anything else from me."},
  sv{"I'll have another look at the numbers."}, sv{"Tuesday morning would suit me."},
  sv{"Could you send me the latest version?"}, sv{"I'm around all afternoon if useful."},
  sv{"I've put a reminder in the calendar."}, sv{"I'll ask Sam to join as well."},
  sv{"We can finalise it next week."}, sv{"I'll take care of the invites."},
  sv{"I'll leave the rest to you."}, sv{"Let's keep it on the agenda for Friday."},
  sv{"I'll follow up once I hear back."}, sv{"I made one small edit, nothing major."},
  sv{"Shall we aim for the end of the month?"}, sv{"I'll keep you posted."},
  sv{"I can take the first part if that helps."}, sv{"I'll check the dates again."},
  sv{""},
};

constexpr std::array reply_sign_offs = {
  sv{"Thanks,"}, sv{"Best,"}, sv{"Cheers,"}, sv{"Talk soon,"}, sv{"Regards,"}, sv{""},
};

constexpr fragments shipped_fragments = {
  topics, subject_templates, greetings, openers, topic_lines, details, questions,
  closers, sign_offs, reply_greetings, answers, follow_ups, reply_sign_offs,
};

}  // namespace

const fragments& shipped() {
  return shipped_fragments;
}

}  // namespace warmup::corpus
