"""Pages of sales deals, included into the "sales" namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from vinculo.sales.deals import views

urlpatterns: list[URLPattern] = [
    # The board and the list
    path("deals/", views.deal_board, name="deal_board"),
    path("deals/list/", views.deal_list, name="deal_list"),
    path("deals/board/stages/<int:stage_id>/", views.deal_board_column, name="deal_board_column"),
    path("deals/new", views.deal_new, name="deal_new"),
    path("deals/contacts/suggest", views.deal_contact_suggest, name="deal_contact_suggest"),
    # A deal
    path("deals/<int:pk>/", views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit", views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/fields/<str:name>", views.deal_field, name="deal_field"),
    path("deals/<int:pk>/move", views.deal_move, name="deal_move"),
    path("deals/<int:pk>/close", views.deal_close, name="deal_close"),
    path("deals/<int:pk>/delete", views.deal_delete, name="deal_delete"),
    path("deals/<int:pk>/restore", views.deal_restore, name="deal_restore"),
    path("deals/<int:pk>/lines", views.deal_line_add, name="deal_line_add"),
    path(
        "deals/<int:pk>/lines/<int:line_id>/remove",
        views.deal_line_remove,
        name="deal_line_remove",
    ),
    # The deals of a contact or an account
    path("records/<str:kind>/<int:pk>/deals", views.record_deals, name="record_deals"),
    # Pipeline settings
    path("deals/pipelines/", views.pipeline_settings, name="pipeline_settings"),
    path("deals/pipelines/<int:pk>/", views.pipeline_edit, name="pipeline_edit"),
    path("deals/pipelines/<int:pk>/delete", views.pipeline_delete, name="pipeline_delete"),
    path("deals/pipelines/<int:pk>/stages", views.stage_new, name="stage_new"),
    path("deals/pipelines/<int:pk>/stages/order", views.stage_order, name="stage_order"),
    path("deals/stages/<int:pk>", views.stage_edit, name="stage_edit"),
    path("deals/stages/<int:pk>/delete", views.stage_delete, name="stage_delete"),
    path("deals/lost-reasons/", views.lost_reasons, name="lost_reasons"),
    path("deals/lost-reasons/<int:pk>", views.lost_reason_edit, name="lost_reason_edit"),
    # Products and price lists
    path("products/", views.product_list, name="product_list"),
    path("products/new", views.product_new, name="product_new"),
    path("products/<int:pk>/edit", views.product_edit, name="product_edit"),
    path("products/<int:pk>/active", views.product_active, name="product_active"),
    path("products/<int:pk>/delete", views.product_delete, name="product_delete"),
    path("price-lists/", views.price_lists, name="price_lists"),
    path("price-lists/<int:pk>/", views.price_list_detail, name="price_list_detail"),
    path("price-lists/<int:pk>/items", views.price_list_item, name="price_list_item"),
    path(
        "price-lists/<int:pk>/items/<int:product_id>/remove",
        views.price_list_item_remove,
        name="price_list_item_remove",
    ),
    path("price-lists/<int:pk>/delete", views.price_list_delete, name="price_list_delete"),
]
