# ruff: noqa: E501  (the field tables keep one field per line)
"""GA4's standard dimensions and metrics, and the shapes of custom ones.

The table below is the set of standard fields that the GA4 Data API's
Metadata method lists for property ``0`` (``GET /v1beta/properties/0/metadata``,
which answers the fields every property has, without custom definitions), as
documented on Google's "API Dimensions & Metrics" page
(https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema).
Names, categories and metric types follow the Metadata API; descriptions are
short summaries. Cohort fields (usable only with a ``cohortSpec``) are left
out. ``conversions`` is the name ``keyEvents`` had until 2024; definitions
written then still use it.

Besides the standard fields a property has its custom definitions:
``customEvent:<parameter>``, ``customUser:<property>`` and
``customItem:<parameter>`` dimensions and ``customEvent:<parameter>`` metrics.

Every field has a scope (:func:`scope_of`). Item-scoped dimensions (``item*``,
``customItem:*``) describe the items of ecommerce events: they can be reported
only with item-scoped metrics (``itemRevenue``, ``itemsViewed`` ...); GA4
answers a report that mixes them with session, user or event metrics with 400
INVALID_ARGUMENT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Scope = Literal["item", "event", "session", "user"]

# MetricType names of the Metadata API, with their enum numbers.
METRIC_TYPES: Mapping[str, int] = MappingProxyType(
    {
        "TYPE_INTEGER": 1,
        "TYPE_FLOAT": 2,
        "TYPE_SECONDS": 4,
        "TYPE_MILLISECONDS": 5,
        "TYPE_MINUTES": 6,
        "TYPE_HOURS": 7,
        "TYPE_STANDARD": 8,
        "TYPE_CURRENCY": 9,
        "TYPE_FEET": 10,
        "TYPE_MILES": 11,
        "TYPE_METERS": 12,
        "TYPE_KILOMETERS": 13,
    }
)


@dataclass(frozen=True)
class Field:
    """One dimension or metric as the Metadata API describes it.

    ``type`` is the metric type (``None`` for dimensions); ``scope`` is what a
    value counts or describes (see :func:`scope_of`).
    """

    api_name: str
    ui_name: str
    category: str
    description: str
    scope: Scope
    type: str | None = None


# apiName | uiName | category | description
_DIMENSION_TABLE = """
achievementId|Achievement ID|Gaming|The ID of an achievement in a game, from the achievement_id event parameter.
adFormat|Ad format|Publisher|How an ad looked and where it was placed, such as Banner or Interstitial.
adSourceName|Ad source|Publisher|The network that served the ad.
adUnitName|Ad unit|Publisher|The name given to the ad unit that showed the ad.
appVersion|App version|Platform / Device|The app's version name (Android) or short bundle version (iOS).
audienceId|Audience ID|User|The numeric ID of an audience the user belonged to in the date range.
audienceName|Audience name|User|The name of an audience the user belonged to in the date range.
audienceResourceName|Audience resource name|User|The resource name of an audience the user belonged to in the date range.
brandingInterest|Interests|User|Interests shown by users higher in the shopping funnel.
browser|Browser|Platform / Device|The browser used to view the website.
campaignId|Campaign ID|Attribution|The ID of the campaign credited with the key event.
campaignName|Campaign|Attribution|The name of the campaign credited with the key event.
character|Character|Gaming|The player character in a game, from the character event parameter.
city|City|Geography|The city the user activity came from.
cityId|City ID|Geography|The geographic ID of the city the user activity came from.
contentGroup|Content group|Page / Screen|The content group of a page, from the content_group event parameter.
contentId|Content ID|Page / Screen|The ID of the selected content, from the content_id event parameter.
contentType|Content type|Page / Screen|The category of the selected content, from the content_type event parameter.
continent|Continent|Geography|The continent the user activity came from.
continentId|Continent ID|Geography|The geographic ID of the continent the user activity came from.
country|Country|Geography|The country the user activity came from.
countryId|Country ID|Geography|The ISO 3166 code of the country the user activity came from.
currencyCode|Currency|Ecommerce|The local currency code of an ecommerce event, in ISO 4217.
date|Date|Time|The date of the event, as YYYYMMDD.
dateHour|Date + hour (YYYYMMDDHH)|Time|The date and hour of the event, as YYYYMMDDHH.
dateHourMinute|Date hour and minute|Time|The date, hour and minute of the event, as YYYYMMDDHHMM.
day|Day|Time|The day of the month, 01 to 31.
dayOfWeek|Day of week|Time|The day of the week as a number, 0 (Sunday) to 6 (Saturday).
dayOfWeekName|Day of week name|Time|The day of the week in English, Sunday to Saturday.
defaultChannelGroup|Default channel group|Attribution|The default channel group credited with the key event.
deviceCategory|Device category|Platform / Device|The type of device: desktop, tablet or mobile.
deviceModel|Device model|Platform / Device|The device model, such as iPhone 10,6.
eventName|Event name|Event|The name of the event.
fileExtension|File extension|Link|The extension of a downloaded file, such as pdf.
fileName|File name|Link|The page path of a downloaded file.
firstSessionDate|First session date|User|The date of the user's first session, as YYYYMMDD.
firstUserCampaignId|First user campaign ID|User|The ID of the campaign that first acquired the user.
firstUserCampaignName|First user campaign|User|The name of the campaign that first acquired the user.
firstUserDefaultChannelGroup|First user default channel group|User|The default channel group that first acquired the user.
firstUserGoogleAdsAccountName|First user Google Ads account name|User|The Google Ads account that first acquired the user.
firstUserGoogleAdsAdGroupId|First user Google Ads ad group ID|User|The Google Ads ad group ID that first acquired the user.
firstUserGoogleAdsAdGroupName|First user Google Ads ad group name|User|The Google Ads ad group that first acquired the user.
firstUserGoogleAdsAdNetworkType|First user Google Ads ad network type|User|The advertising network that first acquired the user.
firstUserGoogleAdsCampaignId|First user Google Ads campaign ID|User|The Google Ads campaign ID that first acquired the user.
firstUserGoogleAdsCampaignName|First user Google Ads campaign|User|The Google Ads campaign that first acquired the user.
firstUserGoogleAdsCampaignType|First user Google Ads campaign type|User|The type of the Google Ads campaign that first acquired the user.
firstUserGoogleAdsCreativeId|First user Google Ads creative ID|User|The Google Ads creative that first acquired the user.
firstUserGoogleAdsCustomerId|First user Google Ads customer ID|User|The Google Ads customer ID that first acquired the user.
firstUserGoogleAdsKeyword|First user Google Ads keyword text|User|The matched keyword that first acquired the user.
firstUserGoogleAdsQuery|First user Google Ads query|User|The search query that first acquired the user.
firstUserManualAdContent|First user manual ad content|User|The ad content (utm_content) that first acquired the user.
firstUserManualTerm|First user manual term|User|The term (utm_term) that first acquired the user.
firstUserMedium|First user medium|User|The medium that first acquired the user.
firstUserPrimaryChannelGroup|First user primary channel group|User|The primary channel group that first acquired the user.
firstUserSource|First user source|User|The source that first acquired the user.
firstUserSourceMedium|First user source / medium|User|The combined firstUserSource and firstUserMedium.
firstUserSourcePlatform|First user source platform|User|The source platform that first acquired the user.
fullPageUrl|Full page URL|Page / Screen|The hostname, page path and query string of a web page.
googleAdsAccountName|Google Ads account name|Attribution|The Google Ads account credited with the key event.
googleAdsAdGroupId|Google Ads ad group ID|Attribution|The Google Ads ad group ID credited with the key event.
googleAdsAdGroupName|Google Ads ad group name|Attribution|The Google Ads ad group credited with the key event.
googleAdsAdNetworkType|Google Ads ad network type|Attribution|The advertising network credited with the key event.
googleAdsCampaignId|Google Ads campaign ID|Attribution|The Google Ads campaign ID credited with the key event.
googleAdsCampaignName|Google Ads campaign|Attribution|The Google Ads campaign credited with the key event.
googleAdsCampaignType|Google Ads campaign type|Attribution|The type of the Google Ads campaign credited with the key event.
googleAdsCreativeId|Google Ads creative ID|Attribution|The Google Ads creative credited with the key event.
googleAdsCustomerId|Google Ads customer ID|Attribution|The Google Ads customer ID credited with the key event.
googleAdsKeyword|Google Ads keyword text|Attribution|The matched keyword credited with the key event.
googleAdsQuery|Google Ads query|Attribution|The search query credited with the key event.
groupId|Group ID|Gaming|The player group in a game, from the group_id event parameter.
hostName|Hostname|Page / Screen|The subdomain and domain of a URL, such as www.example.com.
hour|Hour|Time|The two-digit hour of the day of the event, 00 to 23, in the property's time zone.
isKeyEvent|Is key event|Event|The string true if the event is a key event.
isoWeek|ISO week of the year|Time|The ISO 8601 week number, 01 to 53; weeks start on Monday.
isoYear|ISO year|Time|The ISO 8601 year of the event.
isoYearIsoWeek|ISO week of ISO year|Time|The combined isoYear and isoWeek, such as 202652 or 202701.
itemAffiliation|Item affiliation|Ecommerce|The affiliate (partner or vendor) of an item.
itemBrand|Item brand|Ecommerce|The brand of an item.
itemCategory|Item category|Ecommerce|The first level of an item's category hierarchy.
itemCategory2|Item category 2|Ecommerce|The second level of an item's category hierarchy.
itemCategory3|Item category 3|Ecommerce|The third level of an item's category hierarchy.
itemCategory4|Item category 4|Ecommerce|The fourth level of an item's category hierarchy.
itemCategory5|Item category 5|Ecommerce|The fifth level of an item's category hierarchy.
itemId|Item ID|Ecommerce|The ID of an item.
itemListId|Item list ID|Ecommerce|The ID of the list an item was shown in.
itemListName|Item list name|Ecommerce|The name of the list an item was shown in.
itemListPosition|Item list position|Ecommerce|The position of an item in a list.
itemLocationID|Item location ID|Ecommerce|The physical location of an item, such as a store.
itemName|Item name|Ecommerce|The name of an item.
itemPromotionCreativeName|Item promotion creative name|Ecommerce|The name of the creative of an item promotion.
itemPromotionCreativeSlot|Item promotion creative slot|Ecommerce|The creative slot of an item promotion.
itemPromotionId|Item promotion ID|Ecommerce|The ID of an item promotion.
itemPromotionName|Item promotion name|Ecommerce|The name of an item promotion.
itemVariant|Item variant|Ecommerce|The variant of an item, such as a size or colour.
landingPage|Landing page|Page / Screen|The page path of the first page view of a session.
landingPagePlusQueryString|Landing page + query string|Page / Screen|The page path and query string of the first page view of a session.
language|Language|Platform / Device|The language setting of the user's browser or device, such as English.
languageCode|Language code|Platform / Device|The ISO 639 language setting of the user's browser or device, such as en-us.
level|Level|Gaming|The player's level in a game, from the level event parameter.
linkClasses|Link classes|Link|The HTML class attribute of an outbound link.
linkDomain|Link domain|Link|The destination domain of an outbound link.
linkId|Link ID|Link|The HTML id attribute of an outbound link or file download.
linkText|Link text|Link|The link text of a file download.
linkUrl|Link URL|Link|The full URL of an outbound link or file download.
manualAdContent|Manual ad content|Attribution|The ad content (utm_content) credited with the key event.
manualTerm|Manual term|Attribution|The term (utm_term) credited with the key event.
medium|Medium|Attribution|The medium credited with the key event.
method|Method|Event|How an event was triggered, from the method event parameter.
minute|Minute|Time|The two-digit minute of the hour of the event, 00 to 59.
mobileDeviceBranding|Device brand|Platform / Device|The manufacturer or brand of the device, such as Samsung.
mobileDeviceMarketingName|Device|Platform / Device|The branded name of the device, such as Galaxy S10.
mobileDeviceModel|Mobile model|Platform / Device|The model name of the mobile device, such as SM-G950F.
month|Month|Time|The month of the event, 01 to 12.
newVsReturning|New / returning|User|new for users with no previous session, returning otherwise.
nthDay|Nth day|Time|The number of days since the start of the date range, from 0000.
nthHour|Nth hour|Time|The number of hours since the start of the date range, from 0000.
nthMinute|Nth minute|Time|The number of minutes since the start of the date range, from 0000.
nthMonth|Nth month|Time|The number of months since the start of the date range, from 0000.
nthWeek|Nth week|Time|The number of weeks since the start of the date range, from 0000.
nthYear|Nth year|Time|The number of years since the start of the date range, from 0000.
operatingSystem|Operating system|Platform / Device|The operating system of the device, such as Windows or Android.
operatingSystemVersion|OS version|Platform / Device|The version of the operating system, such as 9.3.2.
operatingSystemWithVersion|Operating system with version|Platform / Device|The operating system and its version, such as Android 10.
orderCoupon|Order coupon|Ecommerce|The order-level coupon code.
outbound|Outbound|Link|The string true if a link leads away from the property's domains.
pageLocation|Page location|Page / Screen|The protocol, hostname, page path and query string of a web page.
pagePath|Page path|Page / Screen|The part of the URL between the hostname and the query string.
pagePathPlusQueryString|Page path + query string|Page / Screen|The part of the URL after the hostname, query string included.
pageReferrer|Page referrer|Page / Screen|The full referring URL, from the page_referrer event parameter.
pageTitle|Page title|Page / Screen|The title of a web page.
percentScrolled|Percent scrolled|General|How far down the page the user scrolled, such as 90.
platform|Platform|Platform / Device|The platform the app or website ran on: web, iOS or Android.
platformDeviceCategory|Platform / device category|Platform / Device|The platform and type of device, such as Android / mobile.
primaryChannelGroup|Primary channel group|Attribution|The primary channel group credited with the key event.
region|Region|Geography|The geographic region the user activity came from.
screenResolution|Screen resolution|Platform / Device|The screen resolution of the user's monitor, such as 1920x1080.
searchTerm|Search term|General|The term the user searched for on the site.
sessionCampaignId|Session campaign ID|Traffic Source|The ID of the campaign that led to the session.
sessionCampaignName|Session campaign|Traffic Source|The name of the campaign that led to the session.
sessionDefaultChannelGroup|Session default channel group|Traffic Source|The default channel group of the session, based mainly on source and medium.
sessionGoogleAdsAccountName|Session Google Ads account name|Traffic Source|The Google Ads account that led to the session.
sessionGoogleAdsAdGroupId|Session Google Ads ad group ID|Traffic Source|The Google Ads ad group ID that led to the session.
sessionGoogleAdsAdGroupName|Session Google Ads ad group name|Traffic Source|The Google Ads ad group that led to the session.
sessionGoogleAdsAdNetworkType|Session Google Ads ad network type|Traffic Source|The advertising network that led to the session.
sessionGoogleAdsCampaignId|Session Google Ads campaign ID|Traffic Source|The Google Ads campaign ID that led to the session.
sessionGoogleAdsCampaignName|Session Google Ads campaign|Traffic Source|The Google Ads campaign that led to the session.
sessionGoogleAdsCampaignType|Session Google Ads campaign type|Traffic Source|The type of the Google Ads campaign that led to the session.
sessionGoogleAdsCreativeId|Session Google Ads creative ID|Traffic Source|The Google Ads creative that led to the session.
sessionGoogleAdsCustomerId|Session Google Ads customer ID|Traffic Source|The Google Ads customer ID that led to the session.
sessionGoogleAdsKeyword|Session Google Ads keyword text|Traffic Source|The matched keyword that led to the session.
sessionGoogleAdsQuery|Session Google Ads query|Traffic Source|The search query that led to the session.
sessionManualAdContent|Session manual ad content|Traffic Source|The ad content (utm_content) that led to the session.
sessionManualTerm|Session manual term|Traffic Source|The term (utm_term) that led to the session.
sessionMedium|Session medium|Traffic Source|The medium that started the session.
sessionPrimaryChannelGroup|Session primary channel group|Traffic Source|The primary channel group of the session.
sessionSource|Session source|Traffic Source|The source that started the session.
sessionSourceMedium|Session source / medium|Traffic Source|The combined sessionSource and sessionMedium.
sessionSourcePlatform|Session source platform|Traffic Source|The source platform of the session's campaign.
shippingTier|Shipping tier|Ecommerce|The shipping tier of a purchase, such as Ground or Next Day.
signedInWithUserId|Signed in with user ID|User|The string yes if the user signed in with the User-ID feature.
source|Source|Attribution|The source credited with the key event.
sourceMedium|Source / medium|Attribution|The combined source and medium credited with the key event.
sourcePlatform|Source platform|Attribution|The source platform of the key event's campaign.
streamId|Stream ID|Platform / Device|The numeric ID of the data stream.
streamName|Stream name|Platform / Device|The name of the data stream.
testDataFilterId|Test data filter ID|General|The numeric ID of a data filter in testing state.
testDataFilterName|Test data filter name|General|The name of a data filter in testing state.
transactionId|Transaction ID|Ecommerce|The ID of an ecommerce transaction.
unifiedPagePathScreen|Page path and screen class|Page / Screen|The page path (web) or screen class (app) of the event.
unifiedPageScreen|Page path + query string and screen class|Page / Screen|The page path and query string (web) or screen class (app) of the event.
unifiedScreenClass|Page title and screen class|Page / Screen|The page title (web) or screen class (app) of the event.
unifiedScreenName|Page title and screen name|Page / Screen|The page title (web) or screen name (app) of the event.
userAgeBracket|Age|Demographics|The age bracket of the user.
userGender|Gender|Demographics|The gender of the user.
videoProvider|Video provider|Video|The source of a video, such as youtube.
videoTitle|Video title|Video|The title of a video.
videoUrl|Video URL|Video|The URL of a video.
virtualCurrencyName|Virtual currency name|Gaming|The name of a virtual currency in a game.
visible|Visible|Video|The string true if the content is visible.
week|Week|Time|The week of the event, 01 to 53; weeks start on Sunday and 1 January is in week 01.
year|Year|Time|The four-digit year of the event.
yearMonth|Year month|Time|The combined year and month, such as 202612 or 202701.
yearWeek|Year week|Time|The combined year and week, such as 202653 or 202701.
"""

# apiName | uiName | category | type | description
_METRIC_TABLE = """
active1DayUsers|1-day active users|User|TYPE_INTEGER|Distinct active users in the 1 day ending on the last day of the date range.
active28DayUsers|28-day active users|User|TYPE_INTEGER|Distinct active users in the 28 days ending on the last day of the date range.
active7DayUsers|7-day active users|User|TYPE_INTEGER|Distinct active users in the 7 days ending on the last day of the date range.
activeUsers|Active users|User|TYPE_INTEGER|The number of distinct users who visited the site or app.
adUnitExposure|Ad unit exposure|Publisher|TYPE_MILLISECONDS|How long ad units were shown to users, in milliseconds.
addToCarts|Add to carts|Ecommerce|TYPE_INTEGER|The number of times users added items to their cart (add_to_cart events).
advertiserAdClicks|Ads clicks|Advertising|TYPE_INTEGER|The number of clicks on ads that led users to the property.
advertiserAdCost|Ads cost|Advertising|TYPE_CURRENCY|The total amount paid for ads.
advertiserAdCostPerClick|Ads cost per click|Advertising|TYPE_CURRENCY|Ad cost divided by ad clicks.
advertiserAdCostPerKeyEvent|Cost per key event|Advertising|TYPE_CURRENCY|Ad cost divided by key events.
advertiserAdImpressions|Ads impressions|Advertising|TYPE_INTEGER|The number of ad impressions.
averagePurchaseRevenue|Average purchase revenue|Ecommerce|TYPE_CURRENCY|The average purchase revenue of the transactions.
averagePurchaseRevenuePerPayingUser|ARPPU|Revenue|TYPE_CURRENCY|Purchase revenue per active user who made a purchase.
averagePurchaseRevenuePerUser|Average purchase revenue per user|Revenue|TYPE_CURRENCY|Purchase revenue per active user.
averageRevenuePerUser|ARPU|Revenue|TYPE_CURRENCY|Total revenue per active user.
averageSessionDuration|Average session duration|Session|TYPE_SECONDS|The average duration of users' sessions, in seconds.
bounceRate|Bounce rate|Session|TYPE_FLOAT|The share of sessions that were not engaged, as a fraction.
cartToViewRate|Cart-to-view rate|Ecommerce|TYPE_FLOAT|Users who added an item to their cart divided by users who viewed it.
checkouts|Checkouts|Ecommerce|TYPE_INTEGER|The number of times users began a checkout (begin_checkout events).
conversions|Conversions|Event|TYPE_FLOAT|The name keyEvents had before 2024: the number of key events.
crashAffectedUsers|Crash-affected users|Platform / Device|TYPE_INTEGER|The number of users who had a crash.
crashFreeUsersRate|Crash-free users rate|Platform / Device|TYPE_FLOAT|The share of users without a crash, as a fraction.
dauPerMau|DAU / MAU|User|TYPE_FLOAT|The share of 30-day active users who are also 1-day active users.
dauPerWau|DAU / WAU|User|TYPE_FLOAT|The share of 7-day active users who are also 1-day active users.
ecommercePurchases|Ecommerce purchases|Ecommerce|TYPE_INTEGER|The number of completed purchases (purchase events).
engagedSessions|Engaged sessions|Session|TYPE_INTEGER|Sessions that lasted over 10 seconds, had a key event or two page views.
engagementRate|Engagement rate|Session|TYPE_FLOAT|Engaged sessions divided by sessions, as a fraction.
eventCount|Event count|Event|TYPE_INTEGER|The number of events.
eventCountPerUser|Event count per user|Event|TYPE_FLOAT|Events per active user.
eventValue|Event value|Event|TYPE_FLOAT|The sum of the value event parameter.
eventsPerSession|Events per session|Event|TYPE_FLOAT|Events per session.
firstTimePurchaserRate|First-time purchaser rate|Ecommerce|TYPE_FLOAT|The share of active users who made their first purchase.
firstTimePurchasers|First time purchasers|Ecommerce|TYPE_INTEGER|The number of users who made their first purchase.
firstTimePurchasersPerNewUser|First-time purchasers per new user|Ecommerce|TYPE_FLOAT|First-time purchasers per new user.
grossItemRevenue|Gross item revenue|Ecommerce|TYPE_CURRENCY|Revenue from items only, refunds not deducted.
grossPurchaseRevenue|Gross purchase revenue|Revenue|TYPE_CURRENCY|Revenue from purchases, refunds not deducted.
itemDiscountAmount|Item discount amount|Ecommerce|TYPE_CURRENCY|The discounts on items, from the discount item parameter.
itemListClickEvents|Item-list click events|Ecommerce|TYPE_INTEGER|The number of clicks on items shown in a list (select_item events).
itemListClickThroughRate|Item list click through rate|Ecommerce|TYPE_FLOAT|Users who selected a list divided by users who viewed it.
itemListViewEvents|Item-list view events|Ecommerce|TYPE_INTEGER|The number of times an item list was viewed (view_item_list events).
itemPromotionClickThroughRate|Item promotion click through rate|Ecommerce|TYPE_FLOAT|Users who selected a promotion divided by users who viewed it.
itemRefundAmount|Item refund amount|Ecommerce|TYPE_CURRENCY|Refunded revenue from items only.
itemRevenue|Item revenue|Ecommerce|TYPE_CURRENCY|Revenue from items only, refunds deducted; excludes tax and shipping.
itemViewEvents|Item view events|Ecommerce|TYPE_INTEGER|The number of times item details were viewed (view_item events).
itemsAddedToCart|Items added to cart|Ecommerce|TYPE_INTEGER|Units of an item added to carts.
itemsCheckedOut|Items checked out|Ecommerce|TYPE_INTEGER|Units of an item checked out.
itemsClickedInList|Items clicked in list|Ecommerce|TYPE_INTEGER|Units of an item clicked in a list.
itemsClickedInPromotion|Items clicked in promotion|Ecommerce|TYPE_INTEGER|Units of an item clicked in a promotion.
itemsPurchased|Items purchased|Ecommerce|TYPE_INTEGER|Units of an item purchased.
itemsViewed|Items viewed|Ecommerce|TYPE_INTEGER|Units of an item viewed.
itemsViewedInList|Items viewed in list|Ecommerce|TYPE_INTEGER|Units of an item viewed in a list.
itemsViewedInPromotion|Items viewed in promotion|Ecommerce|TYPE_INTEGER|Units of an item viewed in a promotion.
keyEvents|Key events|Event|TYPE_FLOAT|The number of key events.
newUsers|New users|User|TYPE_INTEGER|The number of users who used the site or app for the first time.
organicGoogleSearchAveragePosition|Organic Google Search average position|Search Console|TYPE_FLOAT|The average ranking of the site's URLs in Google Search.
organicGoogleSearchClickThroughRate|Organic Google Search click through rate|Search Console|TYPE_FLOAT|Organic Google Search clicks per impression.
organicGoogleSearchClicks|Organic Google Search clicks|Search Console|TYPE_INTEGER|The number of organic Google Search clicks.
organicGoogleSearchImpressions|Organic Google Search impressions|Search Console|TYPE_INTEGER|The number of organic Google Search impressions.
promotionClicks|Promotion clicks|Ecommerce|TYPE_INTEGER|The number of clicks on item promotions (select_promotion events).
promotionViews|Promotion views|Ecommerce|TYPE_INTEGER|The number of item promotion views (view_promotion events).
publisherAdClicks|Publisher ad clicks|Publisher|TYPE_INTEGER|The number of ad_click events.
publisherAdImpressions|Publisher ad impressions|Publisher|TYPE_INTEGER|The number of ad_impression events.
purchaseRevenue|Purchase revenue|Revenue|TYPE_CURRENCY|Revenue from purchases, refunds deducted.
purchaseToViewRate|Purchase-to-view rate|Ecommerce|TYPE_FLOAT|Users who purchased an item divided by users who viewed it.
purchaserRate|Purchaser rate|Ecommerce|TYPE_FLOAT|The share of active users who made a purchase.
refundAmount|Refund amount|Revenue|TYPE_CURRENCY|The total refunded revenue.
returnOnAdSpend|Return on ad spend|Advertising|TYPE_FLOAT|Total revenue divided by ad cost.
screenPageViews|Views|Page / Screen|TYPE_INTEGER|The number of app screens or web pages viewed, repeated views counted.
screenPageViewsPerSession|Views per session|Page / Screen|TYPE_FLOAT|Views per session.
screenPageViewsPerUser|Views per user|Page / Screen|TYPE_FLOAT|Views per active user.
scrolledUsers|Scrolled users|Page / Screen|TYPE_INTEGER|The number of distinct users who scrolled at least 90% of a page.
sessionKeyEventRate|Session key event rate|Session|TYPE_FLOAT|The share of sessions with a key event.
sessions|Sessions|Session|TYPE_INTEGER|The number of sessions that began (session_start events).
sessionsPerUser|Sessions per user|Session|TYPE_FLOAT|Sessions per active user.
shippingAmount|Shipping amount|Ecommerce|TYPE_CURRENCY|The shipping charged, from the shipping event parameter.
taxAmount|Tax amount|Ecommerce|TYPE_CURRENCY|The tax charged, from the tax event parameter.
totalAdRevenue|Total ad revenue|Revenue|TYPE_CURRENCY|Advertising revenue from AdMob and third-party sources.
totalPurchasers|Total purchasers|Ecommerce|TYPE_INTEGER|The number of users who made a purchase.
totalRevenue|Total revenue|Revenue|TYPE_CURRENCY|Revenue from purchases, subscriptions and advertising, refunds deducted.
totalUsers|Total users|User|TYPE_INTEGER|The number of distinct users who logged at least one event.
transactions|Transactions|Ecommerce|TYPE_INTEGER|The number of transaction events with purchase revenue.
transactionsPerPurchaser|Transactions per purchaser|Ecommerce|TYPE_FLOAT|Transactions per purchaser.
userEngagementDuration|User engagement|User|TYPE_SECONDS|The time the site or app was in the foreground of users' devices, in seconds.
userKeyEventRate|User key event rate|User|TYPE_FLOAT|The share of users who triggered a key event.
wauPerMau|WAU / MAU|User|TYPE_FLOAT|The share of 30-day active users who are also 7-day active users.
"""

# Session- and user-scoped fields that their names do not give away.
_SESSION_DIMENSIONS = frozenset({"landingPage", "landingPagePlusQueryString"})
_USER_DIMENSIONS = frozenset(
    {
        "audienceId",
        "audienceName",
        "audienceResourceName",
        "brandingInterest",
        "firstSessionDate",
        "newVsReturning",
        "signedInWithUserId",
        "userAgeBracket",
        "userGender",
    }
)
_ITEM_METRICS = frozenset(
    {
        "cartToViewRate",
        "grossItemRevenue",
        "itemDiscountAmount",
        "itemListClickEvents",
        "itemListClickThroughRate",
        "itemListViewEvents",
        "itemPromotionClickThroughRate",
        "itemRefundAmount",
        "itemRevenue",
        "itemViewEvents",
        "itemsAddedToCart",
        "itemsCheckedOut",
        "itemsClickedInList",
        "itemsClickedInPromotion",
        "itemsPurchased",
        "itemsViewed",
        "itemsViewedInList",
        "itemsViewedInPromotion",
        "promotionClicks",
        "promotionViews",
        "purchaseToViewRate",
    }
)
_SESSION_METRICS = frozenset(
    {
        "averageSessionDuration",
        "bounceRate",
        "engagedSessions",
        "engagementRate",
        "sessionKeyEventRate",
        "sessions",
        "sessionsPerUser",
    }
)
_USER_METRICS = frozenset(
    {
        "active1DayUsers",
        "active28DayUsers",
        "active7DayUsers",
        "activeUsers",
        "crashAffectedUsers",
        "crashFreeUsersRate",
        "dauPerMau",
        "dauPerWau",
        "firstTimePurchasers",
        "newUsers",
        "scrolledUsers",
        "totalPurchasers",
        "totalUsers",
        "userEngagementDuration",
        "userKeyEventRate",
        "wauPerMau",
    }
)


def _dimension_scope(name: str) -> Scope:
    if name.startswith("item"):
        return "item"
    if name.startswith("session") or name in _SESSION_DIMENSIONS:
        return "session"
    if name.startswith("firstUser") or name in _USER_DIMENSIONS:
        return "user"
    return "event"


def _metric_scope(name: str) -> Scope:
    if name in _ITEM_METRICS:
        return "item"
    if name in _SESSION_METRICS:
        return "session"
    if name in _USER_METRICS:
        return "user"
    return "event"


def _rows(table: str, width: int) -> list[list[str]]:
    rows = [line.split("|") for line in table.strip().splitlines()]
    for row in rows:
        if len(row) != width:
            raise ValueError(f"malformed field row: {row}")
    return rows


DIMENSIONS: Mapping[str, Field] = MappingProxyType(
    {
        name: Field(name, ui_name, category, description, _dimension_scope(name))
        for name, ui_name, category, description in _rows(_DIMENSION_TABLE, 4)
    }
)
"""The standard dimensions, by apiName."""

METRICS: Mapping[str, Field] = MappingProxyType(
    {
        name: Field(name, ui_name, category, description, _metric_scope(name), kind)
        for name, ui_name, category, kind, description in _rows(_METRIC_TABLE, 5)
    }
)
"""The standard metrics, by apiName."""

STANDARD_DIMENSIONS: frozenset[str] = frozenset(DIMENSIONS)
STANDARD_METRICS: Mapping[str, str] = MappingProxyType(
    {name: str(field.type) for name, field in METRICS.items()}
)
"""Standard metric apiName -> its MetricType name (``TYPE_INTEGER`` ...)."""

# Dimensions whose value is a function of the event's date (and, for the
# sub-day ones, its time): a report by them adds up the days of each value.
TIME_DIMENSIONS: frozenset[str] = frozenset(
    name for name, field in DIMENSIONS.items() if field.category == "Time"
)

_CUSTOM_DIMENSION = re.compile(r"^custom(Event|User|Item):([A-Za-z][A-Za-z0-9_]*)$")
_CUSTOM_METRIC = re.compile(r"^customEvent:([A-Za-z][A-Za-z0-9_]*)$")
_CUSTOM_SCOPES: Mapping[str, Scope] = MappingProxyType(
    {"Event": "event", "User": "user", "Item": "item"}
)


def is_custom_dimension(name: str) -> bool:
    """``customEvent:<parameter>``, ``customUser:<property>`` or ``customItem:<parameter>``.

    The part after the colon is the parameter (or user property) name: a
    letter, then letters, digits and underscores.
    """
    return _CUSTOM_DIMENSION.match(name) is not None


def is_custom_metric(name: str) -> bool:
    """``customEvent:<parameter>`` (GA4's custom metrics are event-scoped)."""
    return _CUSTOM_METRIC.match(name) is not None


def custom_parameter(name: str) -> str:
    """The parameter name of a custom dimension or metric (``plan_type`` of
    ``customEvent:plan_type``)."""
    match = _CUSTOM_DIMENSION.match(name)
    if match is None:
        raise ValueError(f"not a custom dimension or metric: {name!r}")
    return match.group(2)


def scope_of(name: str) -> Scope:
    """What a field's values describe or count: ``item``, ``event``, ``session`` or ``user``.

    Standard dimensions and metrics are looked up (a name that is both, such
    as none today, would be read as a dimension); custom fields take their
    scope from their prefix. Unknown names raise ``KeyError``.
    """
    if name in DIMENSIONS:
        return DIMENSIONS[name].scope
    if name in METRICS:
        return METRICS[name].scope
    match = _CUSTOM_DIMENSION.match(name)
    if match is not None:
        return _CUSTOM_SCOPES[match.group(1)]
    raise KeyError(name)


def metric_scope(name: str) -> Scope:
    """The scope of a standard or custom metric (custom metrics are event-scoped)."""
    if name in METRICS:
        return METRICS[name].scope
    if is_custom_metric(name):
        return "event"
    raise KeyError(name)


def dimension_scope(name: str) -> Scope:
    """The scope of a standard or custom dimension."""
    if name in DIMENSIONS:
        return DIMENSIONS[name].scope
    match = _CUSTOM_DIMENSION.match(name)
    if match is not None:
        return _CUSTOM_SCOPES[match.group(1)]
    raise KeyError(name)


def incompatible(dimensions: Sequence[str], metrics: Sequence[str]) -> bool:
    """Whether GA4 refuses a report of these fields: an item-scoped dimension
    with any metric that is not item-scoped."""
    has_item_dimension = any(dimension_scope(d) == "item" for d in dimensions)
    return has_item_dimension and any(metric_scope(m) != "item" for m in metrics)


__all__ = [
    "DIMENSIONS",
    "METRICS",
    "METRIC_TYPES",
    "STANDARD_DIMENSIONS",
    "STANDARD_METRICS",
    "TIME_DIMENSIONS",
    "Field",
    "Scope",
    "custom_parameter",
    "dimension_scope",
    "incompatible",
    "is_custom_dimension",
    "is_custom_metric",
    "metric_scope",
    "scope_of",
]
